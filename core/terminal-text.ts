/**
 * Text from logs, servers, tools and result files is untrusted: before it reaches a terminal its
 * escape sequences (title change, screen clear, cursor moves, hyperlinks) and other control
 * characters are removed, so it is shown, never obeyed. Line breaks and tabs stay unless a single
 * line is asked for.
 */
import stripAnsi from 'strip-ansi';

// C0 controls but tab and line feed, DEL, C1 controls, and the bidirectional overrides that
// reorder what a reader sees.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` with every escape sequence and control character removed (newlines and tabs kept unless
 * `oneLine`), cut to its first `maxChars` characters when given (text from a board or a result
 * file, bounded before it reaches a line of output).
 */
export function terminalSafe(text: string, opts: { oneLine?: boolean; maxChars?: number } = {}): string {
  const clean = stripAnsi(text).replace(CONTROL, '');
  const line = opts.oneLine ? clean.replace(/[\n\t]+/g, ' ') : clean;
  return opts.maxChars === undefined ? line : line.slice(0, opts.maxChars);
}
