import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.ts';
import { probeNames } from '../../hw-probes/registry.ts';
import { listTargets } from '../../cli/targets.ts';
import { LocalTargetTransport } from '../../targets/local-transport.ts';
import { SshTransport } from '../../targets/ssh-transport.ts';
import { loadTargets, readTargetsFile, resolveTarget, transportFor } from '../../targets/targets.ts';
import { repoRoot } from './helpers/fixtures.ts';
import { NASTY } from './helpers/nasty.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir('bench-targets-');
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

afterEach(() => {
  delete process.env['BENCH_TARGETS'];
});

describe('targets file', () => {
  it('always has the built-in local target', () => {
    const empty = file('empty.yaml', 'targets: []\n');
    expect(loadTargets(empty).map((t) => t.name)).toEqual(['local']);
    expect(resolveTarget('local', empty)).toMatchObject({ name: 'local', kind: 'local', source: 'builtin' });
  });

  it('reads ssh targets and resolves the identity relative to the file', async () => {
    mkdirSync(join(dir, 'keys'), { recursive: true });
    writeFileSync(join(dir, 'keys', 'id'), 'not a real key');
    const f = file(
      'boards.yaml',
      ['targets:', '  - name: ax650', '    kind: ssh', '    host: 10.0.0.2', '    user: root', '    port: 2222', '    identity: keys/id', '    workDir: /root/m', '    probes: [axera]', '    env: { LD_LIBRARY_PATH: /opt/lib }', ''].join('\n'),
    );
    process.env['BENCH_TARGETS'] = f;
    const t = resolveTarget('ax650');
    expect(t).toEqual({ name: 'ax650', kind: 'ssh', host: '10.0.0.2', user: 'root', port: 2222, identity: 'keys/id', workDir: '/root/m', probes: ['axera'], env: { LD_LIBRARY_PATH: '/opt/lib' }, source: f });
    const transport = transportFor(t) as SshTransport;
    expect(transport).toBeInstanceOf(SshTransport);
    expect(transport.name).toBe('ssh:ax650');
    const args = transport.sshArgs();
    expect(args.slice(-10, -2)).toEqual(['-p', '2222', '-l', 'root', '-i', join(dir, 'keys', 'id'), '-o', 'IdentitiesOnly=yes']);
    expect(args.slice(-2)).toEqual(['--', '10.0.0.2']);
    expect(args).toContain('BatchMode=yes');
    expect(args.some((a) => /^ControlPath=.*bench-ssh-.*\/%C$/.test(a))).toBe(true);
    await transport.close();
  });

  it('names the file, the target and the field in every error', () => {
    const noHost = file('nohost.yaml', 'targets:\n  - name: ax650\n    kind: ssh\n');
    expect(() => readTargetsFile(noHost)).toThrow(InputError);
    expect(() => readTargetsFile(noHost)).toThrow(`${noHost}: target "ax650": field "host": is required`);
    const badPort = file('port.yaml', 'targets:\n  - { name: orin, kind: ssh, host: orin.local, port: 70000 }\n');
    expect(() => readTargetsFile(badPort)).toThrow(`${badPort}: target "orin": field "port": expected a value that must be <= 65535`);
    const unknown = file('unknown.yaml', 'targets:\n  - { name: orin, kind: ssh, host: h, hostname: h }\n');
    expect(() => readTargetsFile(unknown)).toThrow(`${unknown}: target "orin": field "hostname": is not a known field`);
    const probe = file('probe.yaml', 'targets:\n  - { name: orin, kind: ssh, host: h, probes: [tegrastat] }\n');
    // Probe names are the probe registry's (plug-ins too): checked when the CLI loads the targets.
    expect(() => listTargets(probe)).toThrow(`${probe}: target "orin": field "probes[0]": expected one of ${probeNames().map((p) => JSON.stringify(p)).join(', ')}`);
    const kind = file('kind.yaml', 'targets:\n  - { name: orin, kind: telnet }\n');
    expect(() => readTargetsFile(kind)).toThrow(`${kind}: target "orin": field "kind": expected one of "local", "ssh"`);
    const dup = file('dup.yaml', 'targets:\n  - { name: a, kind: local }\n  - { name: a, kind: local }\n');
    expect(() => readTargetsFile(dup)).toThrow(`${dup}: target "a": field "name": defined twice`);
    const local = file('local.yaml', 'targets:\n  - { name: local, kind: ssh, host: h }\n');
    expect(() => readTargetsFile(local)).toThrow(/target "local": field "kind": "local" is the built-in target/);
    const yaml = file('broken.yaml', 'targets:\n  - name: [unclosed\n');
    expect(() => readTargetsFile(yaml)).toThrow(new RegExp(`^${yaml.replace(/[.]/g, '\\.')}:\\d+: not valid YAML`));
    const noName = file('noname.yaml', 'targets:\n  - { kind: local }\n');
    expect(() => readTargetsFile(noName)).toThrow(`${noName}: targets[0]: field "name": is required`);
    expect(() => loadTargets(join(dir, 'missing.yaml'))).toThrow(`--targets ${join(dir, 'missing.yaml')}: file not found`);
    const f = file('one.yaml', 'targets:\n  - { name: orin, kind: ssh, host: h }\n');
    expect(() => resolveTarget('ax650', f)).toThrow(`unknown target "ax650"; known targets: local, orin (from ${f})`);
  });

  it('refuses a missing identity file when the transport is made, naming the field', () => {
    const f = file('key.yaml', 'targets:\n  - { name: orin, kind: ssh, host: h, identity: nokey }\n');
    expect(() => transportFor(resolveTarget('orin', f))).toThrow(`target "orin" (${f}): field "identity": key file ${join(dir, 'nokey')} not found`);
  });

  it('keeps the schema\'s probe names equal to the probe registry\'s, and the shipped example valid', () => {
    const schema = JSON.parse(readFileSync(join(repoRoot, 'targets', 'targets.schema.json'), 'utf8')) as { definitions: { target: { properties: { probes: { items: { enum: string[] } } } } } };
    expect(schema.definitions.target.properties.probes.items.enum).toEqual(probeNames());
    const example = readTargetsFile(join(repoRoot, 'targets.example.yaml'));
    expect(example.map((t) => `${t.name}:${t.kind}`)).toEqual(['ax650:ssh', 'orin-nx:ssh', 'orin-nx-ci:local']);
  });
});

describe('local target transport', () => {
  it('runs argv without a shell, in workDir with env, and feeds stdin', async () => {
    const work = join(dir, 'local work');
    mkdirSync(work, { recursive: true });
    const t = transportFor({ name: 'ci', kind: 'local', workDir: work, env: { BENCH_Y: '$(id)' }, source: 'builtin' });
    expect(t).toBeInstanceOf(LocalTargetTransport);
    const r = await t.run(['printf', '%s\\0', ...NASTY]);
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(NASTY);
    expect(readdirSync(work)).toEqual([]);
    expect((await t.run(['sh', '-c', 'pwd; printf %s "$BENCH_Y"'])).stdout).toBe(`${work}\n$(id)`);
    expect((await t.run(['sh', '-c', 'cat'], { input: 'a\nb' })).stdout).toBe('a\nb');
    const missing = await t.run(['no_such_tool_here']);
    expect(missing).toMatchObject({ code: null, failure: 'missing-tool', error: 'no_such_tool_here: command not found' });
    const slow = await t.run(['sleep', '5'], { timeoutMs: 300 });
    expect(slow).toMatchObject({ code: null, failure: 'timeout', error: 'sleep: timed out after 300 ms' });
  });
});
