/**
 * Thin typed access to the onnx-proto (protobufjs) ModelProto classes. onnx-proto is CommonJS
 * and exposes a root object with an `onnx` namespace; importing it once here keeps that quirk
 * out of the rest of the builder.
 */
import onnxProtoRoot from 'onnx-proto';

export const onnx = onnxProtoRoot.onnx;
export type TensorProtoInit = import('onnx-proto').onnx.ITensorProto;
export type NodeProtoInit = import('onnx-proto').onnx.INodeProto;
export type AttributeProtoInit = import('onnx-proto').onnx.IAttributeProto;
export type ValueInfoProtoInit = import('onnx-proto').onnx.IValueInfoProto;
export type GraphProtoInit = import('onnx-proto').onnx.IGraphProto;

/** Element types the builder emits, named as onnxruntime-node names tensor types. */
export type ElemType = 'float32' | 'float16' | 'int8' | 'uint8' | 'int32' | 'uint32' | 'int64' | 'bool';

export const ONNX_DATA_TYPE: Record<ElemType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  uint32: 12,
  bool: 9,
  float16: 10,
};

export const BYTES_PER_ELEMENT: Record<ElemType, number> = {
  float32: 4,
  float16: 2,
  int8: 1,
  uint8: 1,
  int32: 4,
  uint32: 4,
  int64: 8,
  bool: 1,
};

/** AttributeProto.AttributeType values used here. */
export const ATTR_TYPE = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;
