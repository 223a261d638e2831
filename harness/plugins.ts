/**
 * Plug-ins: runners and probes defined outside this repository, registered with one line each
 * in a config file:
 *
 *   # bench.config.yaml (in the working directory, or the file $BENCH_CONFIG names)
 *   plugins:
 *     - ./my-npu/runner.ts      # exports `runner`: a RunnerDescriptor (runners/descriptor.ts)
 *     - ./my-meter/probe.ts     # exports `probe`: a ProbeDescriptor (hw-probes/descriptor.ts)
 *
 * Paths are relative to the config file. The CLI loads them before any command, so a plug-in is
 * in `bench list`, in suites (`runner:`, `probes:`), in doctor's tool checks, in reports and on the
 * published site like a built-in one. A plug-in module is code the user chose to run: it is
 * imported as it is, like a suite's command line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { errorMessage, InputError } from '../core/errors.ts';

export const CONFIG_ENV = 'BENCH_CONFIG';
export const CONFIG_FILE = 'bench.config.yaml';

const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: { plugins: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true } },
};

/** The config file to read: $BENCH_CONFIG (which must exist), else ./bench.config.yaml when there is one. */
export function configPath(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | null {
  const named = env[CONFIG_ENV];
  if (named) {
    const path = resolve(cwd, named);
    if (!existsSync(path)) throw new InputError(`$${CONFIG_ENV}=${named}: file not found`);
    return path;
  }
  const here = resolve(cwd, CONFIG_FILE);
  return existsSync(here) ? here : null;
}

const loaded = new Map<string, string[]>();

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const looksLikeRunner = (v: unknown): boolean =>
  isObject(v) && isObject(v['spec']) && isObject(v['capabilities']) && typeof v['load'] === 'function' && typeof v['backendLabel'] === 'function';
const looksLikeProbe = (v: unknown): boolean =>
  isObject(v) && typeof v['name'] === 'string' && typeof v['create'] === 'function' && Array.isArray(v['samples']) && Array.isArray(v['tools']);

/**
 * Registers the plug-ins the config file lists; returns "runner NAME" / "probe NAME" for each.
 * A file is loaded once per process (the CLI's main may run more than once in tests).
 */
export async function loadPlugins(file: string | null = configPath()): Promise<string[]> {
  if (file === null) return [];
  const done = loaded.get(file);
  if (done) return done;
  // Imported here, not at the top: every command starts in this module, most with no config file.
  const [{ parse: parseYaml, YAMLParseError }, { schemaValidator }] = await Promise.all([import('yaml'), import('../core/validate.ts')]);
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    const line = err instanceof YAMLParseError ? err.linePos?.[0]?.line : undefined;
    throw new InputError(`${file}${line !== undefined ? `:${line}` : ''}: not valid YAML: ${errorMessage(err).split('\n')[0]}`);
  }
  const config = schemaValidator<{ plugins?: string[] }>(CONFIG_SCHEMA)(doc ?? {}, file);
  const names: string[] = [];
  const plugins = config.plugins ?? [];
  if (plugins.length === 0) return names;
  // The registries are imported only when there is something to register: every command starts here.
  const [{ registerRunner }, { registerProbe }] = await Promise.all([import('../runners/registry.ts'), import('../hw-probes/registry.ts')]);
  for (const [i, entry] of plugins.entries()) {
    const where = `${file}: plugins[${i}] (${entry})`;
    const path = resolve(dirname(file), entry);
    if (!existsSync(path)) throw new InputError(`${where}: file not found (paths are relative to the config file)`);
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
    } catch (err) {
      throw new InputError(`${where}: cannot be loaded: ${errorMessage(err).split('\n')[0]}`);
    }
    const { runner, probe } = mod;
    if (runner === undefined && probe === undefined) throw new InputError(`${where}: exports neither \`runner\` (a RunnerDescriptor) nor \`probe\` (a ProbeDescriptor)`);
    if (runner !== undefined) {
      if (!looksLikeRunner(runner)) throw new InputError(`${where}: \`runner\` is not a RunnerDescriptor (spec, capabilities, backendLabel, load; see runners/descriptor.ts)`);
      registerRunner(runner as Parameters<typeof registerRunner>[0], where);
      names.push(`runner ${(runner as { spec: { name: string } }).spec.name}`);
    }
    if (probe !== undefined) {
      if (!looksLikeProbe(probe)) throw new InputError(`${where}: \`probe\` is not a ProbeDescriptor (name, samples, tools, create; see hw-probes/descriptor.ts)`);
      registerProbe(probe as Parameters<typeof registerProbe>[0], where);
      names.push(`probe ${(probe as { name: string }).name}`);
    }
  }
  loaded.set(file, names);
  return names;
}
