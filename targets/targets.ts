/**
 * Targets: where a suite runs. `local` (this machine) always exists; boards come from a targets
 * file — `--targets FILE`, else $BENCH_TARGETS, else targets.yaml in the working directory or the
 * repository root — validated against targets/targets.schema.json. Errors name the file, the
 * target and the field.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { errorMessage, InputError } from '../core/errors.ts';
import { schemaValidator } from '../core/validate.ts';
import { LocalTargetTransport } from './local-transport.ts';
import { SshTransport } from './ssh-transport.ts';
import type { TargetDefinition, TargetTransport } from './types.ts';

export type { TargetDefinition, TargetTransport, PublishedPeaks, TargetCommandResult, TargetRunOptions, CommandFailureKind } from './types.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');
export const TARGETS_FILE_NAME = 'targets.yaml';
export const TARGETS_ENV = 'BENCH_TARGETS';

export const BUILTIN_LOCAL: TargetDefinition = {
  name: 'local',
  kind: 'local',
  description: 'this machine: commands run here without a shell, in-process runners use its CPU',
  source: 'builtin',
};

/**
 * Suite `target:` values that mean this machine: `local`, and `endpoint` (a server reached over
 * HTTP from here, whose own hardware no target describes).
 */
export const THIS_MACHINE_TARGETS: readonly string[] = ['local', 'endpoint'];

function loadSchema(): object {
  const schema = JSON.parse(readFileSync(join(here, 'targets.schema.json'), 'utf8')) as {
    definitions: { target: { properties: { probes: { items: object } } } };
  };
  // The file's enum lists the built-in probes for editors; which names exist (plug-ins too) is
  // hw-probes/registry.ts's to say, a layer above this one: it checks them (checkTargetProbes).
  schema.definitions.target.properties.probes.items = { type: 'string', minLength: 1 };
  return schema;
}

/** Errors inside the list name the target by its name ("target \"orin\""), or by index when it has none. */
function locateTarget(parts: string[], doc: unknown): { label: string; parts: string[] } {
  if (parts[0] !== 'targets' || parts[1] === undefined) return { label: '', parts };
  const idx = Number(parts[1]);
  const entry = (doc as { targets?: unknown[] }).targets?.[idx] as { name?: unknown } | undefined;
  return { label: typeof entry?.name === 'string' ? `target "${entry.name}"` : `targets[${idx}]`, parts: parts.slice(2) };
}

const validateTargets = schemaValidator<{ targets: Array<Omit<TargetDefinition, 'source'>> }>(loadSchema(), { locate: locateTarget, all: true });

/** The targets file to read: explicit, then $BENCH_TARGETS, then ./targets.yaml, then <repo>/targets.yaml. */
export function targetsFilePath(file?: string): string | null {
  if (file !== undefined) {
    const p = resolve(file);
    if (!existsSync(p)) throw new InputError(`--targets ${file}: file not found`);
    return p;
  }
  const fromEnv = process.env[TARGETS_ENV];
  if (fromEnv) {
    const p = resolve(fromEnv);
    if (!existsSync(p)) throw new InputError(`${TARGETS_ENV}=${fromEnv}: file not found`);
    return p;
  }
  for (const dir of [process.cwd(), repoRoot]) {
    const p = join(dir, TARGETS_FILE_NAME);
    if (existsSync(p)) return p;
  }
  return null;
}

/** Checks a parsed targets document; errors name the file, the target and the field. */
export function checkTargets(doc: unknown, source: string): TargetDefinition[] {
  const entries = validateTargets(doc, source).targets;
  const seen = new Set<string>();
  return entries.map((entry) => {
    if (seen.has(entry.name)) throw new InputError(`${source}: target "${entry.name}": field "name": defined twice`);
    seen.add(entry.name);
    if (entry.name === 'local' && entry.kind !== 'local') {
      throw new InputError(`${source}: target "local": field "kind": "local" is the built-in target of this machine; give the board another name`);
    }
    return { ...entry, source };
  });
}

/** Reads and validates a targets file. */
export function readTargetsFile(path: string): TargetDefinition[] {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const line = err.linePos?.[0]?.line;
      throw new InputError(`${path}${line !== undefined ? `:${line}` : ''}: not valid YAML: ${err.message.split('\n')[0]}`);
    }
    throw new InputError(`${path}: cannot read: ${errorMessage(err)}`);
  }
  return checkTargets(doc ?? {}, path);
}

/** Every known target: the built-in `local` plus the targets file's (a file entry "local" replaces the built-in). */
export function loadTargets(file?: string): TargetDefinition[] {
  const path = targetsFilePath(file);
  const fromFile = path ? readTargetsFile(path) : [];
  const local = fromFile.find((t) => t.name === 'local') ?? BUILTIN_LOCAL;
  return [local, ...fromFile.filter((t) => t.name !== 'local')];
}

export function resolveTarget(name: string, file?: string): TargetDefinition {
  const all = loadTargets(file);
  const t = all.find((x) => x.name === name);
  if (!t) {
    const path = targetsFilePath(file);
    throw new InputError(
      `unknown target "${name}"; known targets: ${all.map((x) => x.name).join(', ')}` +
        (path ? ` (from ${path})` : ` (no targets file: create ${TARGETS_FILE_NAME}, or pass --targets FILE / set ${TARGETS_ENV}; see targets.example.yaml)`),
    );
  }
  return t;
}

/** A new transport for the target. The caller closes it (an SSH transport holds a connection). */
export function transportFor(target: TargetDefinition): TargetTransport {
  return target.kind === 'ssh' ? new SshTransport(target) : new LocalTargetTransport(target);
}

const shared = new Map<string, TargetTransport>();

/**
 * One transport per target for the whole process, so a runner and the probes sampling the same
 * board share one SSH connection.
 */
export function sharedTransport(target: TargetDefinition): TargetTransport {
  const key = `${target.source}#${target.name}`;
  let t = shared.get(key);
  if (!t) {
    t = transportFor(target);
    shared.set(key, t);
  }
  return t;
}

/** Closes every shared transport (end of a run). */
export async function closeSharedTransports(): Promise<void> {
  const all = [...shared.values()];
  shared.clear();
  await Promise.all(all.map((t) => t.close().catch(() => undefined)));
}
