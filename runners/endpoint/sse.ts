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

/** Default cap of one line (and of one event's data), bytes. */
export const DEFAULT_MAX_SSE_LINE_BYTES = 16 * 2 ** 20;

/** A line or an event larger than the decoder's cap: the stream is refused, not buffered on. */
export class SseLineTooLongError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SseLineTooLongError';
  }
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Works on bytes: a UTF-8 multi-byte character never contains a CR or LF byte, so lines can be
 * split before decoding. Each byte is looked at a bounded number of times (the partial line is
 * kept as pieces and joined once), so decoding is linear in the stream's size however long a
 * line is and however the reads cut it.
 */
export class SseDecoder {
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** The previous read ended with CR: a LF starting this one completes that CRLF. */
  private skipLf = false;
  private atStreamStart = true;
  private lineNo = 0;
  private dataLines: string[] = [];
  private dataBytes = 0;
  private eventName: string | undefined;
  private eventLine = 0;

  constructor(private readonly maxLineBytes = DEFAULT_MAX_SSE_LINE_BYTES) {}

  /** Feed one network read; returns the events completed by it. Throws SseLineTooLongError. */
  push(input: Uint8Array | string): SseEvent[] {
    let bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    if (this.atStreamStart && bytes.length > 0) {
      // The standard strips one leading byte order mark.
      if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
      this.atStreamStart = false;
    }
    const out: SseEvent[] = [];
    let pos = 0;
    if (this.skipLf && bytes.length > 0) {
      if (bytes[0] === LF) pos = 1;
      this.skipLf = false;
    }
    // Next CR and LF at or after pos; each is searched again only once passed, so a read full of
    // one terminator and none of the other is still scanned once.
    let nextLf = -2;
    let nextCr = -2;
    while (pos < bytes.length) {
      if (nextLf !== -1 && nextLf < pos) nextLf = bytes.indexOf(LF, pos);
      if (nextCr !== -1 && nextCr < pos) nextCr = bytes.indexOf(CR, pos);
      const end = nextLf === -1 ? nextCr : nextCr === -1 ? nextLf : Math.min(nextLf, nextCr);
      if (end === -1) {
        this.appendPartial(bytes.subarray(pos));
        break;
      }
      this.appendPartial(bytes.subarray(pos, end));
      const event = this.takeLine(this.takePartial());
      if (event) out.push(event);
      if (bytes[end] === CR) {
        if (end + 1 === bytes.length) this.skipLf = true;
        pos = bytes[end + 1] === LF ? end + 2 : end + 1;
      } else {
        pos = end + 1;
      }
    }
    return out;
  }

  /** The stream ended: anything left is an unterminated event, which the standard discards. */
  end(): SseEnd {
    const incomplete = this.partialBytes > 0 || this.dataLines.length > 0 || this.eventName !== undefined;
    this.partial = [];
    this.partialBytes = 0;
    this.dataLines = [];
    this.dataBytes = 0;
    this.eventName = undefined;
    return { events: [], incomplete };
  }

  private appendPartial(piece: Buffer): void {
    if (piece.length === 0) return;
    this.partialBytes += piece.length;
    if (this.partialBytes > this.maxLineBytes) {
      throw new SseLineTooLongError(
        `SSE line ${this.lineNo + 1} is longer than ${this.maxLineBytes} bytes (options.maxSseLineBytes) and still growing: refused rather than buffered`,
      );
    }
    // Copied: the caller may reuse its buffer for the next read.
    this.partial.push(Buffer.from(piece));
  }

  private takePartial(): string {
    const line = this.partial.length === 1 ? this.partial[0]!.toString('utf8') : Buffer.concat(this.partial, this.partialBytes).toString('utf8');
    this.partial = [];
    this.partialBytes = 0;
    return line;
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
      this.dataBytes = 0;
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
      this.dataBytes += value.length + 1;
      if (this.dataBytes > this.maxLineBytes) {
        throw new SseLineTooLongError(`SSE event starting at line ${this.eventLine} has more than ${this.maxLineBytes} bytes of data (options.maxSseLineBytes): refused rather than buffered`);
      }
      this.dataLines.push(value);
    } else if (field === 'event') {
      this.eventName = value;
    }
    return undefined;
  }
}
