/**
 * A fake board: a folder of executables that stand in for the vendor tools (ax_run_model,
 * axllm, tegrastats, nvpmodel, jetson_clocks, llava-cli) and print RECORDED REAL OUTPUTS from
 * test/fixtures/targets-*.txt. They are put first on the PATH of a real sshd (helpers/sshd.ts),
 * so the code under test goes through real ssh, a real remote shell and real processes; only
 * the vendor programs are stand-ins.
 *
 * Derived outputs: the seed publishes per-subgraph figures (targets-internvl-subgraphs.txt) but
 * no ax_run_model log of them, so the fake ax_run_model prints each figure inside the layout of
 * a real ax_run_model output (targets-ax-run-model.txt): min = max = avg = the figure, with the
 * -m/-w/-r the caller passed. Unknown graphs get the real output verbatim.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureBody, fixtureSection, publishedSubgraphFigures, repoRoot } from './fixtures.ts';
import { tempDir } from '../../helpers/tmp.ts';

export interface FakeBoard {
  dir: string;
  binDir: string;
  /** One line per ax_run_model call: "<model> [-g N] -w W -r R". */
  axRunModelCalls(): string[];
  /** ax_run_model (and the VLM CLI) sleep this long before printing (0 = none). */
  setDelayMs(ms: number): void;
  /** Arguments of each llava-cli call, as received (NUL-separated on disk). */
  llavaCalls(): string[][];
  axllmStdin(): string;
  /** Replaces what a fake tool prints from now on ("nvpmodel", "jetson_clocks", "tegrastats": outputs/<tool>.txt) with another recorded output. */
  setOutput(tool: 'nvpmodel' | 'jetson_clocks' | 'tegrastats', text: string): void;
  /** Serve /proc/ax_proc/* files (an AX650N board) or not (a Jetson). */
  setAxeraProc(enabled: boolean): void;
  remove(): void;
}

export const LAYER_GRAPH = 'InternVL2_5-1B-MPO_axmodel/qwen2_p128_l0_together.axmodel';
export const VIT_GRAPH = 'vit_axmodel/internvl2_5_1b_mpo_vit.axmodel';
export const POST_GRAPH = 'InternVL2_5-1B-MPO_axmodel/qwen2_post.axmodel';

function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** The real output from "Run AxModel:" on, with the model, counts and latency made placeholders. */
function axRunModelTemplate(): string {
  const body = fixtureBody('targets-ax-run-model.txt');
  const from = body.indexOf('  Run AxModel:');
  return body
    .slice(from)
    .replace(/model: \S+/, 'model: @MODEL@')
    .replace(/warmup: \d+/, 'warmup: @WARMUP@')
    .replace(/repeat: \d+/, 'repeat: @REPEAT@')
    .replace(/min = +[\d.]+ ms +max = +[\d.]+ ms +avg = +[\d.]+ ms/, 'min = @MS@ ms   max = @MS@ ms   avg = @MS@ ms');
}

function script(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

export function createFakeBoard(): FakeBoard {
  const dir = tempDir('bench-fakeboard-');
  const binDir = join(dir, 'bin');
  const out = join(dir, 'outputs');
  mkdirSync(binDir);
  mkdirSync(out);
  mkdirSync(join(dir, 'proc', 'ax_proc'), { recursive: true });

  // ax_run_model outputs: derived per-subgraph ones, and the real one verbatim as the default.
  const template = axRunModelTemplate();
  const figures = publishedSubgraphFigures();
  for (const [graph, ms] of Object.entries(figures)) {
    const key = graph === 'vit' ? basename(VIT_GRAPH) : graph === 'post' ? basename(POST_GRAPH) : `${basename(LAYER_GRAPH)}#${graph}`;
    writeFileSync(join(out, `${key}.txt`), template.replace(/@MS@/g, ms.toFixed(3).padStart(7)));
  }
  writeFileSync(join(out, 'default.txt'), fixtureBody('targets-ax-run-model.txt').slice(fixtureBody('targets-ax-run-model.txt').indexOf('  Run AxModel:')));
  // The ax-llm session without its first line (the shell prompt and run script).
  writeFileSync(join(out, 'axllm.txt'), fixtureBody('targets-axllm-internvl2.txt').split('\n').slice(1).join('\n'));
  writeFileSync(join(out, 'tegrastats.txt'), `${fixtureBody('targets-tegrastats-orin.txt').trim()}\n`);
  writeFileSync(join(out, 'nvpmodel.txt'), fixtureSection('targets-orin-nx-power.txt', 'nvpmodel -q'));
  writeFileSync(join(out, 'jetson_clocks.txt'), fixtureSection('targets-orin-nx-power.txt', 'jetson_clocks --show'));
  writeFileSync(join(out, 'llava.txt'), fixtureBody('targets-llava-orin.txt'));
  writeFileSync(join(dir, 'cmm.txt'), fixtureBody('targets-ax-mem-cmm-info.txt'));
  // The suites' images, put on the board as docs/boards.md says (the project's own, assets/board-images);
  // ssd_dog.jpg (the Axera demo's image name) is a stand-in copy.
  mkdirSync(join(dir, 'images'));
  for (const name of ['test-448-a.jpg', 'test-448-b.jpg']) copyFileSync(join(repoRoot, 'assets', 'board-images', name), join(dir, 'images', name));
  copyFileSync(join(repoRoot, 'assets', 'board-images', 'test-448-a.jpg'), join(dir, 'images', 'ssd_dog.jpg'));

  script(
    join(binDir, 'ax_run_model'),
    `#!/bin/sh
# Fake ax_run_model (tests): prints a derived or recorded output, see helpers/fake-board.ts.
D='${dir}'
model=""; group=""; w=1; r=1
while [ $# -gt 0 ]; do
  case "$1" in
    -m) model="$2"; shift 2;;
    -g) group="$2"; shift 2;;
    -w) w="$2"; shift 2;;
    -r) r="$2"; shift 2;;
    *) shift;;
  esac
done
printf '%s\\n' "$model\${group:+ -g $group} -w $w -r $r" >> "$D/calls.log"
if [ -s "$D/delay" ]; then sleep "$(/bin/cat "$D/delay")"; fi
key="$(basename "$model")\${group:+#g$group}"
f="$D/outputs/$key.txt"
if [ ! -f "$f" ]; then /bin/cat "$D/outputs/default.txt"; exit 0; fi
sed -e "s|@MODEL@|$model|" -e "s|@WARMUP@|$w|" -e "s|@REPEAT@|$r|" "$f"
`,
  );
  script(
    join(binDir, 'axllm'),
    `#!/bin/sh
# Fake axllm (tests): reads the prompt/image answers from stdin, prints a recorded ax-llm session.
D='${dir}'
/bin/cat > "$D/axllm-stdin.txt"
/bin/cat "$D/outputs/axllm.txt"
`,
  );
  script(
    join(binDir, 'tegrastats'),
    `#!/bin/sh
# Fake tegrastats (tests): prints a recorded Orin line every --interval ms. (The --help text is
# not a recording: the probe only checks that the program runs.)
D='${dir}'
case "$1" in --help) echo "fake tegrastats for tests"; exit 0;; esac
interval=1000
while [ $# -gt 0 ]; do case "$1" in --interval) interval="$2"; shift 2;; *) shift;; esac; done
s=$(printf '%d.%03d' $((interval / 1000)) $((interval % 1000)))
while :; do /bin/cat "$D/outputs/tegrastats.txt" || exit 1; sleep "$s"; done
`,
  );
  script(
    join(binDir, 'nvpmodel'),
    `#!/bin/sh
D='${dir}'
[ "$1" = "-q" ] && exec /bin/cat "$D/outputs/nvpmodel.txt"
echo "fake nvpmodel: only -q" >&2; exit 1
`,
  );
  script(
    join(binDir, 'jetson_clocks'),
    `#!/bin/sh
D='${dir}'
[ "$1" = "--show" ] && exec /bin/cat "$D/outputs/jetson_clocks.txt"
echo "fake jetson_clocks: only --show" >&2; exit 1
`,
  );
  script(
    join(binDir, 'llava-cli'),
    `#!/bin/sh
# Fake VLM CLI (tests): records its argv (NUL-separated), prints a recorded llava-cli run on a Jetson Orin.
D='${dir}'
printf '%s\\0' "$@" >> "$D/llava-calls.bin"; printf '\\n' >> "$D/llava-calls.bin"
if [ -s "$D/delay" ]; then sleep "$(/bin/cat "$D/delay")"; fi
exec /bin/cat "$D/outputs/llava.txt"
`,
  );
  script(
    join(binDir, 'cat'),
    `#!/bin/sh
# Test shim: serves the fake board's /proc/ax_proc files; everything else goes to the real cat.
D='${dir}'
case "$1" in
  /proc/ax_proc/*)
    f="$D/proc\${1#/proc}"
    if [ -e "$f" ]; then exec /bin/cat "$f"; fi
    echo "cat: $1: No such file or directory" >&2; exit 1;;
esac
exec /bin/cat "$@"
`,
  );

  const readLines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
  return {
    dir,
    binDir,
    axRunModelCalls: () => readLines(join(dir, 'calls.log')),
    setDelayMs: (ms) => writeFileSync(join(dir, 'delay'), ms > 0 ? (ms / 1000).toFixed(3) : ''),
    llavaCalls: () =>
      existsSync(join(dir, 'llava-calls.bin'))
        ? readFileSync(join(dir, 'llava-calls.bin'), 'utf8')
            .split('\0\n')
            .filter((l) => l.length > 0)
            .map((l) => l.split('\0'))
        : [],
    axllmStdin: () => (existsSync(join(dir, 'axllm-stdin.txt')) ? readFileSync(join(dir, 'axllm-stdin.txt'), 'utf8') : ''),
    remove: () => rmSync(dir, { recursive: true, force: true }),
    setOutput: (tool, text) => writeFileSync(join(out, `${tool}.txt`), text),
    setAxeraProc: (enabled) => {
      const target = join(dir, 'proc', 'ax_proc', 'mem_cmm_info');
      if (enabled) writeFileSync(target, readFileSync(join(dir, 'cmm.txt')));
      else rmSync(target, { force: true });
    },
  };
}
