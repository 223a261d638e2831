import type { ProbeDescriptor } from '../descriptor.ts';
import { createTegrastatsProbe } from './probe.ts';

export const TEGRASTATS_PROBE: ProbeDescriptor = {
  name: 'tegrastats',
  description: 'Jetson (JetPack 3-7): tegrastats --interval N; INA3221 rails, mW instant + tool average',
  samples: ['power', 'cpu', 'gpu', 'memory', 'temperature'],
  tools: [
    { tool: 'tegrastats', required: true, why: 'power and utilisation sampling' },
    { tool: 'nvpmodel', required: false, why: 'power mode' },
    { tool: 'jetson_clocks', required: false, why: 'clock state' },
  ],
  boardChecks: ['jetson-power-mode'],
  create: ({ transport, files }) => createTegrastatsProbe({ transport, files }),
};
