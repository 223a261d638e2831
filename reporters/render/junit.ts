/**
 * The one JUnit XML writer. `bench compare` and `bench history check` describe their verdicts as
 * a JunitReport (suites of test cases, each passed, failed, in error or skipped) and this turns
 * it into XML; counts in the `testsuites` and `testsuite` elements are derived here, never
 * written by hand, so they always match the cases.
 */

/** Characters XML 1.0 does not allow at all (control characters other than tab, newline, return). */
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

export function xmlEscape(text: string): string {
  return text
    .replace(INVALID_XML, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const attr = (name: string, value: string | number) => `${name}="${xmlEscape(String(value))}"`;

export type JunitCaseOutcome =
  | { kind: 'passed'; output?: string }
  | { kind: 'failure' | 'error'; type: string; message: string; detail?: string }
  | { kind: 'skipped'; message: string };

export interface JunitCase {
  classname: string;
  name: string;
  outcome: JunitCaseOutcome;
}

export interface JunitSuite {
  name: string;
  properties?: Array<[string, string]>;
  cases: JunitCase[];
}

export interface JunitReport {
  name: string;
  suites: JunitSuite[];
}

function testcase(c: JunitCase): string {
  const head = `    <testcase ${attr('classname', c.classname)} ${attr('name', c.name)} time="0"`;
  const o = c.outcome;
  switch (o.kind) {
    case 'passed':
      return o.output ? `${head}>\n      <system-out>${xmlEscape(o.output)}</system-out>\n    </testcase>` : `${head}/>`;
    case 'skipped':
      return `${head}>\n      <skipped ${attr('message', o.message)}/>\n    </testcase>`;
    default: {
      const body = o.detail ? `>${xmlEscape(o.detail)}</${o.kind}>` : '/>';
      return `${head}>\n      <${o.kind} ${attr('type', o.type)} ${attr('message', o.message)}${body}\n    </testcase>`;
    }
  }
}

function counts(cases: readonly JunitCase[]): { tests: number; failures: number; errors: number; skipped: number } {
  return {
    tests: cases.length,
    failures: cases.filter((c) => c.outcome.kind === 'failure').length,
    errors: cases.filter((c) => c.outcome.kind === 'error').length,
    skipped: cases.filter((c) => c.outcome.kind === 'skipped').length,
  };
}

const countAttrs = (n: ReturnType<typeof counts>) =>
  `${attr('tests', n.tests)} ${attr('failures', n.failures)} ${attr('errors', n.errors)} ${attr('skipped', n.skipped)} time="0"`;

export function renderJunit(report: JunitReport): string {
  const suites = report.suites
    .filter((s) => s.cases.length)
    .map((s) => {
      const props = s.properties?.length
        ? `    <properties>\n${s.properties.map(([k, v]) => `      <property ${attr('name', k)} ${attr('value', v)}/>`).join('\n')}\n    </properties>\n`
        : '';
      return `  <testsuite ${attr('name', s.name)} ${countAttrs(counts(s.cases))}>\n${props}${s.cases.map(testcase).join('\n')}\n  </testsuite>`;
    });
  const all = counts(report.suites.flatMap((s) => s.cases));
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ${attr('name', report.name)} ${countAttrs(all)}>\n${suites.join('\n')}\n</testsuites>\n`;
}
