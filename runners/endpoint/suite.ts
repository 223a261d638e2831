/**
 * The default endpoint suite, built from command-line values
 * (`bench run --endpoint URL --model NAME ...`). The same shape as suites/endpoint-default.yaml.
 */
import { InputError } from '../../core/errors.ts';
import type { Suite } from '../../core/suite-types.ts';
import { endpointUrls } from './options.ts';

export interface EndpointSuiteOptions {
  url: string;
  model: string;
  images?: number;
  promptTokens?: number;
  maxTokens?: number;
  concurrency?: number;
  iterations?: number;
  warmup?: number;
  /** Name of the env var holding the API key (never the key). */
  apiKeyEnv?: string;
}

function checkInt(value: number | undefined, name: string, min: number): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min)) {
    throw new InputError(`--${name}: expected an integer >= ${min}, got ${value}`);
  }
}

/** Smallest multiple of `step` that is >= `n`: concurrency rounds are never cut short. */
function roundUp(n: number, step: number): number {
  return Math.ceil(n / step) * step;
}

export function buildEndpointSuite(opts: EndpointSuiteOptions): Suite {
  if (!opts.model) throw new InputError('--model: the model name the server serves is required');
  endpointUrls(opts.url, '--endpoint');
  checkInt(opts.images, 'images', 0);
  checkInt(opts.promptTokens, 'prompt-tokens', 1);
  checkInt(opts.maxTokens, 'max-tokens', 1);
  checkInt(opts.concurrency, 'concurrency', 1);
  checkInt(opts.iterations, 'iterations', 1);
  checkInt(opts.warmup, 'warmup', 0);
  const concurrency = opts.concurrency ?? 1;
  const maxTokens = opts.maxTokens ?? 128;

  const options: Record<string, unknown> = { url: opts.url, model: opts.model, maxTokens, timeoutMs: 120_000 };
  if (opts.apiKeyEnv) options['apiKeyEnv'] = opts.apiKeyEnv;

  return {
    name: 'endpoint-default',
    description: `OpenAI-compatible streaming endpoint ${opts.url}, model ${opts.model}: TTFT, TPOT, chunk ITL, throughput`,
    // list that form yet, hence the cast.
    model: { name: opts.model },
    target: 'endpoint',
    runner: 'endpoint',
    defaults: {
      warmup: roundUp(opts.warmup ?? 1, concurrency),
      iterations: roundUp(opts.iterations ?? 10, concurrency),
      outputTokens: maxTokens,
    },
    matrix: {
      images: [opts.images ?? 1],
      prefill: [opts.promptTokens ?? 128],
      concurrency: [concurrency],
    },
    options,
  };
}
