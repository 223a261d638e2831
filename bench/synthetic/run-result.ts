/**
 * The one builder of RunResult documents for tests: a complete, schema-valid skeleton (suite,
 * options, environment) around the cells a test supplies, with any part overridden.
 */
import type { CellResult, RunResult } from '../../core/result-types.ts';
import type { Suite } from '../../core/suite-types.ts';

export interface RunResultParts {
  runId?: string;
  /** Suite name (also the definition's name). */
  suite?: string;
  suiteSource?: string;
  suiteHash?: string;
  definition?: Partial<Suite>;
  target?: string;
  startedAt?: string;
  finishedAt?: string;
  options?: Partial<RunResult['options']>;
  environment?: Partial<RunResult['environment']>;
  host?: Partial<RunResult['environment']['host']>;
  cells: CellResult[];
  plannedCells?: string[];
}

export function buildRunResult(p: RunResultParts): RunResult {
  const name = p.suite ?? 'test-suite';
  const definition: Suite = {
    name,
    model: { zoo: 'internvl2_5-1b', scale: 'full' },
    target: 'local',
    runner: 'ort',
    defaults: { warmup: 1, iterations: 1, outputTokens: 16 },
    matrix: {},
    ...p.definition,
  };
  return {
    schemaVersion: 1,
    runId: p.runId ?? 'test-run',
    suite: { name, source: p.suiteSource ?? 'test', hash: p.suiteHash ?? 'x', definition },
    target: p.target ?? 'local',
    status: 'complete',
    startedAt: p.startedAt ?? '2026-11-25T00:00:00Z',
    finishedAt: p.finishedAt ?? '2026-11-25T00:01:00Z',
    options: {
      iterations: definition.defaults.iterations,
      warmup: definition.defaults.warmup,
      outputTokens: definition.defaults.outputTokens,
      threads: 2,
      filters: [],
      ...p.options,
    },
    environment: {
      host: { hostname: 'testhost', cpu: 'Test CPU', cores: 2, physicalCores: 2, memoryBytes: 8 * 2 ** 30, arch: 'x64', ...p.host },
      os: { platform: 'linux', distro: 'test', release: '1', kernel: '6' },
      versions: {},
      git: { revision: null, dirty: null },
      ...p.environment,
    },
    cells: p.cells,
    plannedCells: p.plannedCells ?? p.cells.map((c) => c.id),
    warnings: [],
  };
}
