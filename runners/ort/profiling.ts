import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import type { OperatorProfile } from '../../core/runner.ts';
import { aggregateByOpType, parseOrtProfile, type OrtProfileResult } from '../../parsers/ort-profile.ts';

/**
 * ONNX Runtime's profiler for the sessions of one cell. onnxruntime-node writes
 * `<prefix>_<timestamp>.json` when profiling ends and does not return the name, so each
 * session gets its own prefix in a private folder.
 */
export class CellProfiler {
  private readonly dir = mkdtempSync(join(tmpdir(), 'bench-ort-profile-'));

  options(graph: string): Pick<ort.InferenceSession.SessionOptions, 'enableProfiling' | 'profileFilePrefix'> {
    return { enableProfiling: true, profileFilePrefix: join(this.dir, graph) };
  }

  /** Ends profiling of each session and reads its profile (graph name -> parsed profile); the files are removed. */
  profiles(sessions: Record<string, ort.InferenceSession | undefined>): Record<string, OrtProfileResult> {
    const out: Record<string, OrtProfileResult> = {};
    try {
      for (const [graph, session] of Object.entries(sessions)) {
        if (!session) continue;
        session.endProfiling();
        const file = readdirSync(this.dir).find((f) => f.startsWith(`${graph}_`) && f.endsWith('.json'));
        if (!file) continue;
        const path = join(this.dir, file);
        out[graph] = parseOrtProfile(readFileSync(path, 'utf8'), path);
      }
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
    return out;
  }

  /** Ends profiling of each session and sums kernel time per operator type and graph. */
  collect(sessions: Record<string, ort.InferenceSession | undefined>): OperatorProfile {
    const graphs: OperatorProfile['graphs'] = {};
    for (const [graph, profile] of Object.entries(this.profiles(sessions))) {
      graphs[graph] = aggregateByOpType(profile.kernels).map((a) => ({ op: a.key, calls: a.count, totalMs: a.totalMs, share: a.share }));
    }
    return { source: 'onnxruntime profiler (kernel time per operator type, all iterations incl. warm-up)', graphs };
  }
}
