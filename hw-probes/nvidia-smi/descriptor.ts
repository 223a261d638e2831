import type { ProbeDescriptor } from '../descriptor.ts';
import { createNvidiaSmiProbe } from './probe.ts';

export const NVIDIA_SMI_PROBE: ProbeDescriptor = {
  name: 'nvidia-smi',
  description: 'NVIDIA GPU: nvidia-smi --query-gpu ... -lms N; power.draw.instant (else power.draw, flagged)',
  samples: ['power', 'gpu', 'memory', 'temperature'],
  tools: [{ tool: 'nvidia-smi', required: true, why: 'GPU power sampling' }],
  create: ({ transport }) => createNvidiaSmiProbe({ transport }),
};
