import { closeSync, openSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { BYTES_PER_ELEMENT, type ElemType } from './proto.ts';

/** Where one initializer's bytes landed in the external data file. */
export interface ExternalSpan {
  location: string;
  offset: number;
  length: number;
}

/** Typed arrays a producer may hand to the sink. */
export type Chunk = Float32Array | Uint16Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;

/**
 * Appends initializer bytes to one `<model>.onnx_data` file as they are produced, so a model
 * far larger than the heap can be written: producers emit chunks, nothing is kept.
 * Large tensors start on a 4 KiB boundary so ONNX Runtime can map them without copying.
 */
export class ExternalDataSink {
  private fd: number;
  private position = 0;
  readonly location: string;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
    this.location = basename(path);
  }

  get bytesWritten(): number {
    return this.position;
  }

  write(
    name: string,
    type: ElemType,
    elementCount: number,
    produce: (emit: (chunk: Chunk) => void) => void,
  ): ExternalSpan {
    const expected = elementCount * BYTES_PER_ELEMENT[type];
    this.alignTo(expected >= 65536 ? 4096 : 64);
    const offset = this.position;
    produce((chunk) => {
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      let done = 0;
      while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, this.position + done);
      this.position += bytes.length;
    });
    const length = this.position - offset;
    if (length !== expected) {
      throw new Error(`initializer ${name}: producer wrote ${length} bytes, expected ${expected} (${elementCount} x ${type})`);
    }
    return { location: this.location, offset, length };
  }

  close(): void {
    closeSync(this.fd);
  }

  private alignTo(alignment: number): void {
    const pad = (alignment - (this.position % alignment)) % alignment;
    if (pad > 0) {
      writeSync(this.fd, new Uint8Array(pad), 0, pad, this.position);
      this.position += pad;
    }
  }
}
