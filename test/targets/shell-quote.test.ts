import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.ts';
import { quotePosix, remoteScript } from '../../targets/shell-quote.ts';
import { NASTY } from './helpers/nasty.ts';

describe('quotePosix', () => {
  it('leaves plain words alone and single-quotes everything else', () => {
    expect(quotePosix('ax_run_model')).toBe('ax_run_model');
    expect(quotePosix('/opt/bin/qwen2_p128_l0_together.axmodel')).toBe('/opt/bin/qwen2_p128_l0_together.axmodel');
    expect(quotePosix('-w')).toBe('-w');
    expect(quotePosix('')).toBe("''");
    expect(quotePosix('two words')).toBe("'two words'");
    expect(quotePosix("it's")).toBe("'it'\\''s'");
    expect(quotePosix('$HOME')).toBe("'$HOME'");
    expect(quotePosix('a=b')).toBe("'a=b'");
    expect(quotePosix('~')).toBe("'~'");
  });

  it('refuses a NUL byte with a clear error', () => {
    expect(() => quotePosix('a\0b')).toThrow(InputError);
    expect(() => quotePosix('a\0b')).toThrow(/NUL byte/);
  });

  // The real test: a POSIX shell (dash as /bin/sh here, bash too) must hand every string back
  // to the program as exactly one, unchanged argument.
  for (const shell of ['/bin/sh', '/bin/bash']) {
    it(`${shell} receives every nasty string intact as one argument`, () => {
      const script = remoteScript(['printf', '%s\\0', ...NASTY]);
      const r = spawnSync(shell, ['-c', script], { encoding: 'utf8', cwd: '/tmp' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.split('\0').slice(0, -1)).toEqual(NASTY);
    });
  }
});

describe('remoteScript', () => {
  it('builds cd, exports and exec with every part quoted', () => {
    expect(remoteScript(['ax_run_model', '-m', 'a b.axmodel'], { cwd: '/opt/my models', env: { LD_LIBRARY_PATH: '/opt/lib:$X' } })).toBe(
      "cd '/opt/my models' && export LD_LIBRARY_PATH='/opt/lib:$X' && exec ax_run_model -m 'a b.axmodel'",
    );
    expect(remoteScript(['true'], { announcePid: true })).toBe('echo __bench_remote_pid=$$ >&2 && exec true');
  });

  it('rejects bad names with clear errors', () => {
    expect(() => remoteScript([])).toThrow(/empty command/);
    expect(() => remoteScript(['-x'])).toThrow(/starts with "-"/);
    expect(() => remoteScript(['true'], { env: { 'A;B': '1' } })).toThrow(/not a valid shell name/);
  });
});
