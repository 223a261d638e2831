import { writeFileSync } from 'node:fs';
import type { Chunk, ExternalDataSink } from './external-data.ts';
import {
  ATTR_TYPE,
  BYTES_PER_ELEMENT,
  ONNX_DATA_TYPE,
  onnx,
  type AttributeProtoInit,
  type ElemType,
  type NodeProtoInit,
  type TensorProtoInit,
  type ValueInfoProtoInit,
} from './proto.ts';

export type Dim = number | string;

/** Attribute values, tagged so ints and floats cannot be confused. */
export type Attr =
  | { int: number }
  | { float: number }
  | { str: string }
  | { ints: number[] }
  | { floats: number[] };

export const int = (v: number): Attr => ({ int: v });
export const float = (v: number): Attr => ({ float: v });
export const str = (v: string): Attr => ({ str: v });
export const ints = (v: number[]): Attr => ({ ints: v });

export const MS_DOMAIN = 'com.microsoft';

/** Default-domain opset: 17 has LayerNormalization; contrib ops registered in the ONNX domain
 * (SimplifiedLayerNormalization) resolve at any opset. */
export const DEFAULT_OPSET = 17;

/** Inline data for small constants (shapes, axes, scalars). */
export type InlineData = Float32Array | Int32Array | BigInt64Array | Int8Array | Uint8Array | Uint16Array;

/** An attribute as ONNX stores it. */
export function encodeAttr(name: string, value: Attr): AttributeProtoInit {
  if ('int' in value) return { name, type: ATTR_TYPE.INT, i: value.int };
  if ('float' in value) return { name, type: ATTR_TYPE.FLOAT, f: value.float };
  if ('str' in value) return { name, type: ATTR_TYPE.STRING, s: new TextEncoder().encode(value.str) };
  if ('ints' in value) return { name, type: ATTR_TYPE.INTS, ints: value.ints };
  return { name, type: ATTR_TYPE.FLOATS, floats: value.floats };
}

/** A graph input or output: name, element type and shape (numbers fixed, strings symbolic). */
export function valueInfo(name: string, type: ElemType, shape: Dim[]): ValueInfoProtoInit {
  return {
    name,
    type: {
      tensorType: {
        elemType: ONNX_DATA_TYPE[type],
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/**
 * Collects nodes, graph inputs/outputs and initializers of one ONNX graph. Large initializers
 * are streamed to an external data sink at the moment they are declared, so the builder only
 * ever holds graph structure.
 */
export class GraphBuilder {
  private nodes: NodeProtoInit[] = [];
  private inputs: ValueInfoProtoInit[] = [];
  private outputs: ValueInfoProtoInit[] = [];
  private initializers: TensorProtoInit[] = [];
  private names = new Set<string>();
  /** Names handed out by fresh() that no node has produced yet. */
  private reserved = new Set<string>();
  private counters = new Map<string, number>();
  private constCache = new Map<string, string>();
  /** Bytes at or above which an initializer goes to the external file. */
  private static readonly EXTERNAL_THRESHOLD = 1024;

  constructor(
    readonly graphName: string,
    private readonly sink: ExternalDataSink,
  ) {}

  /** A name not used yet in this graph, derived from a readable prefix. */
  fresh(prefix: string): string {
    let n = this.counters.get(prefix) ?? 0;
    let candidate = n === 0 ? prefix : `${prefix}_${n}`;
    while (this.names.has(candidate)) {
      n += 1;
      candidate = `${prefix}_${n}`;
    }
    this.counters.set(prefix, n + 1);
    this.names.add(candidate);
    this.reserved.add(candidate);
    return candidate;
  }

  private claim(name: string): string {
    if (this.reserved.delete(name)) return name;
    if (this.names.has(name)) throw new Error(`graph ${this.graphName}: duplicate tensor name ${name}`);
    this.names.add(name);
    return name;
  }

  input(name: string, type: ElemType, shape: Dim[]): string {
    this.inputs.push(valueInfo(this.claim(name), type, shape));
    return name;
  }

  /** Declares a graph output; `from` is renamed through an Identity when it differs. */
  output(name: string, type: ElemType, shape: Dim[], from?: string): void {
    if (from !== undefined && from !== name) {
      this.nodes.push({ opType: 'Identity', input: [from], output: [this.claim(name)], name: this.fresh(`out_${name}`) });
    }
    // Without `from`, a node must already produce a tensor of this name.
    this.outputs.push(valueInfo(name, type, shape));
  }

  /** Adds one node; returns its output names (generated from `opType` unless given). */
  node(
    opType: string,
    inputs: string[],
    outputs: number | string[] = 1,
    attrs: Record<string, Attr> = {},
    domain = '',
  ): string[] {
    const outNames =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, () => this.claim(this.fresh(opType)))
        : outputs.map((o) => (o === '' ? '' : this.claim(o)));
    const attribute = Object.entries(attrs).map(([k, v]) => encodeAttr(k, v));
    this.nodes.push({ opType, input: inputs, output: outNames, name: this.fresh(`n_${opType}`), attribute, domain });
    return outNames;
  }

  /** Single-output convenience. */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, domain = ''): string {
    const [out] = this.node(opType, inputs, 1, attrs, domain);
    return out as string;
  }

  /** An initializer whose bytes are produced in chunks (external when large). */
  weight(
    name: string,
    type: ElemType,
    dims: number[],
    produce: (emit: (chunk: Chunk) => void) => void,
  ): string {
    this.claim(name);
    const count = dims.reduce((a, b) => a * b, 1);
    const bytes = count * BYTES_PER_ELEMENT[type];
    if (bytes < GraphBuilder.EXTERNAL_THRESHOLD) {
      const parts: Uint8Array[] = [];
      produce((chunk) => parts.push(new Uint8Array(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength))));
      const raw = new Uint8Array(bytes);
      let at = 0;
      for (const p of parts) {
        raw.set(p, at);
        at += p.length;
      }
      if (at !== bytes) throw new Error(`initializer ${name}: producer wrote ${at} bytes, expected ${bytes}`);
      this.initializers.push({ name, dims, dataType: ONNX_DATA_TYPE[type], rawData: raw });
      return name;
    }
    const span = this.sink.write(name, type, count, produce);
    this.initializers.push({
      name,
      dims,
      dataType: ONNX_DATA_TYPE[type],
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: span.location },
        { key: 'offset', value: String(span.offset) },
        { key: 'length', value: String(span.length) },
      ],
    });
    return name;
  }

  /** A small inline constant, deduplicated by content. */
  constant(type: ElemType, dims: number[], data: InlineData, hint = 'const'): string {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const key = `${type}|${dims.join(',')}|${Buffer.from(bytes).toString('base64')}`;
    const cached = this.constCache.get(key);
    if (cached) return cached;
    const name = this.fresh(hint);
    this.initializers.push({ name, dims, dataType: ONNX_DATA_TYPE[type], rawData: new Uint8Array(bytes) });
    this.constCache.set(key, name);
    return name;
  }

  i64(values: number[], hint = 'i64'): string {
    return this.constant('int64', [values.length], BigInt64Array.from(values.map(BigInt)), hint);
  }

  i64Scalar(value: number, hint = 'i64s'): string {
    return this.constant('int64', [], BigInt64Array.of(BigInt(value)), hint);
  }

  f32Scalar(value: number, hint = 'f32s'): string {
    return this.constant('float32', [], Float32Array.of(value), hint);
  }

  /** Serialises the model; the external data file must be closed by the caller. */
  writeModel(path: string, opsets: Record<string, number>, docString: string): number {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'vlm-edge-bench synthetic zoo',
      producerVersion: '1',
      docString,
      opsetImport: Object.entries(opsets).map(([domain, version]) => ({ domain, version })),
      graph: {
        name: this.graphName,
        node: this.nodes,
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
      },
    });
    const bytes = onnx.ModelProto.encode(model).finish();
    writeFileSync(path, bytes);
    return bytes.length;
  }
}
