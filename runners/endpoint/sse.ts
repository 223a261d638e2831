/**
 * Incremental decoder for a text/event-stream body (WHATWG "server-sent events" rules), fed with
 * the bytes of each network read as they arrive so that arrival times stay exact.
 *
 * Only `data:` and `event:` fields matter to OpenAI-compatible servers; other fields and lines
 * without a colon are ignored as the standard says (the "..." elision lines in the fixtures are
 * such lines). Line numbers are counted in the stream so a malformed event can be located.
 */
export interface SseEvent {
  /** `event:` field, when the server named the event (llama.cpp uses "error" for some failures). */
  event?: string;
  /** The `data:` lines of the event joined with "\n". */
  data: string;
  /** 1-based line of the stream where the event's first data line was. */
  line: number;
}

export interface SseEnd {
  events: SseEvent[];
  /** True when the stream stopped in the middle of an event (no closing blank line). */
  incomplete: boolean;
}

export class SseDecoder {
  private readonly utf8 = new TextDecoder('utf-8');
  private pending = '';
  private lineNo = 0;
  private dataLines: string[] = [];
  private eventName: string | undefined;
  private eventLine = 0;

  /** Feed one network read; returns the events completed by it. */
  push(bytes: Uint8Array | string): SseEvent[] {
    // `stream: true` keeps a multi-byte character split across two reads intact.
    this.pending += typeof bytes === 'string' ? bytes : this.utf8.decode(bytes, { stream: true });
    return this.drain(false);
  }

  /** The stream ended: anything left is an unterminated event, which the standard discards. */
  end(): SseEnd {
    this.pending += this.utf8.decode();
    const events = this.drain(true);
    const incomplete = this.pending.length > 0 || this.dataLines.length > 0 || this.eventName !== undefined;
    this.pending = '';
    this.dataLines = [];
    this.eventName = undefined;
    return { events, incomplete };
  }

  private drain(final: boolean): SseEvent[] {
    const out: SseEvent[] = [];
    let start = 0;
    for (;;) {
      const lf = this.pending.indexOf('\n', start);
      const cr = this.pending.indexOf('\r', start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        // A CR at the very end of a read may be the first half of CRLF: wait for more bytes.
        if (cr === this.pending.length - 1 && !final) break;
        end = cr;
        next = this.pending[cr + 1] === '\n' ? cr + 2 : cr + 1;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        break;
      }
      const event = this.takeLine(this.pending.slice(start, end));
      if (event) out.push(event);
      start = next;
    }
    this.pending = this.pending.slice(start);
    return out;
  }

  private takeLine(line: string): SseEvent | undefined {
    this.lineNo += 1;
    if (line === '') {
      if (this.dataLines.length === 0) {
        this.eventName = undefined;
        return undefined;
      }
      const event: SseEvent = { data: this.dataLines.join('\n'), line: this.eventLine };
      if (this.eventName !== undefined) event.event = this.eventName;
      this.dataLines = [];
      this.eventName = undefined;
      return event;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      if (this.dataLines.length === 0) this.eventLine = this.lineNo;
      this.dataLines.push(value);
    } else if (field === 'event') {
      this.eventName = value;
    }
    return undefined;
  }
}
