import type { ProbeDescriptor } from '../descriptor.ts';
import { createAxeraProbe } from './probe.ts';

export const AXERA_PROBE: ProbeDescriptor = {
  name: 'axera',
  description: 'AX650N board / AXCL card: /proc/ax_proc/mem_cmm_info, npu/top, thermal zones; no power sensor (use an external meter)',
  samples: ['npu', 'memory', 'temperature'],
  tools: [
    { tool: 'ax_run_model', required: true, why: 'per-subgraph latency (axera-subgraph runner)' },
    { tool: 'axllm', required: false, why: 'end-to-end demo runs (the demo may also be a run_*.sh script)' },
  ],
  boardChecks: ['axera-cmm'],
  create: ({ transport, files, axclDevice, enableNpuStats }) =>
    createAxeraProbe({
      files: axclDevice !== undefined ? undefined : files,
      transport,
      ...(axclDevice !== undefined && { axclDevice }),
      ...(enableNpuStats !== undefined && { enableNpuStats }),
    }),
};
