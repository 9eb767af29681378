/**
 * ONNX protobuf encoding/decoding with protobufjs and the vendored onnx.proto subset.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import { OnnxParseError } from "../errors.js";

const protoPath = fileURLToPath(new URL("./onnx.proto", import.meta.url));
const root = protobuf.parse(readFileSync(protoPath, "utf8"), { keepCase: true }).root;
const ModelProto = root.lookupType("onnx.ModelProto");

export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  DOUBLE: 11,
} as const;

export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

/** Plain-object view of the ONNX messages (int64 decoded to JS numbers). */
export interface TensorProtoObj {
  name?: string;
  dims?: number[];
  data_type?: number;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: number[];
  double_data?: number[];
  raw_data?: Uint8Array;
  data_location?: number;
}
export interface AttributeProtoObj {
  name: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProtoObj;
  floats?: number[];
  ints?: number[];
}
export interface NodeProtoObj {
  input?: string[];
  output?: string[];
  name?: string;
  op_type: string;
  domain?: string;
  attribute?: AttributeProtoObj[];
}
export interface DimObj {
  dim_value?: number;
  dim_param?: string;
}
export interface ValueInfoProtoObj {
  name: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: DimObj[] } } };
}
export interface GraphProtoObj {
  name?: string;
  node?: NodeProtoObj[];
  initializer?: TensorProtoObj[];
  input?: ValueInfoProtoObj[];
  output?: ValueInfoProtoObj[];
  value_info?: ValueInfoProtoObj[];
}
export interface ModelProtoObj {
  ir_version?: number;
  opset_import?: { domain?: string; version?: number }[];
  producer_name?: string;
  producer_version?: string;
  doc_string?: string;
  graph?: GraphProtoObj;
  metadata_props?: { key: string; value: string }[];
}

/** Decode ONNX bytes into a plain object; throws OnnxParseError on garbage. */
export function decodeModel(bytes: Uint8Array, what = "model"): ModelProtoObj {
  let obj: ModelProtoObj;
  try {
    const msg = ModelProto.decode(bytes);
    obj = ModelProto.toObject(msg, { longs: Number, arrays: true, defaults: false }) as ModelProtoObj;
  } catch (e) {
    throw new OnnxParseError(`${what} is not a valid ONNX protobuf`, { cause: e });
  }
  if (!obj.graph || !obj.graph.node || obj.graph.node.length === 0) {
    throw new OnnxParseError(`${what} is not an ONNX model (no graph nodes)`);
  }
  return obj;
}

/** Encode a plain ModelProto object to bytes. */
export function encodeModel(model: ModelProtoObj): Uint8Array {
  const err = ModelProto.verify(model);
  if (err) throw new OnnxParseError(`cannot encode ONNX model: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

/** Read tensor values as numbers (float or integer types). */
export function tensorValues(t: TensorProtoObj): number[] {
  const dt = t.data_type ?? 0;
  if (t.data_location === 1)
    throw new OnnxParseError(`tensor ${t.name ?? "?"} uses external data, which is not supported`);
  const raw = t.raw_data;
  if (raw && raw.length > 0) {
    const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    const out: number[] = [];
    switch (dt) {
      case DataType.FLOAT:
        for (let i = 0; i < buf.length; i += 4) out.push(buf.readFloatLE(i));
        return out;
      case DataType.DOUBLE:
        for (let i = 0; i < buf.length; i += 8) out.push(buf.readDoubleLE(i));
        return out;
      case DataType.INT64:
        for (let i = 0; i < buf.length; i += 8) out.push(Number(buf.readBigInt64LE(i)));
        return out;
      case DataType.INT32:
        for (let i = 0; i < buf.length; i += 4) out.push(buf.readInt32LE(i));
        return out;
      case DataType.INT8:
        for (let i = 0; i < buf.length; i++) out.push(buf.readInt8(i));
        return out;
      case DataType.UINT8:
      case DataType.BOOL:
        for (let i = 0; i < buf.length; i++) out.push(buf.readUInt8(i));
        return out;
      default:
        throw new OnnxParseError(`tensor ${t.name ?? "?"} has unsupported data type ${dt}`);
    }
  }
  switch (dt) {
    case DataType.FLOAT:
      return t.float_data ?? [];
    case DataType.DOUBLE:
      return t.double_data ?? [];
    case DataType.INT64:
      return t.int64_data ?? [];
    case DataType.INT32:
    case DataType.INT8:
    case DataType.UINT8:
    case DataType.INT16:
    case DataType.BOOL:
      return t.int32_data ?? [];
    default:
      throw new OnnxParseError(`tensor ${t.name ?? "?"} has unsupported data type ${dt}`);
  }
}

/** Build a TensorProto with raw little-endian data. */
export function makeTensor(name: string, dims: number[], dataType: number, values: ArrayLike<number>): TensorProtoObj {
  const n = values.length;
  let buf: Buffer;
  switch (dataType) {
    case DataType.FLOAT:
      buf = Buffer.alloc(4 * n);
      for (let i = 0; i < n; i++) buf.writeFloatLE(values[i]!, 4 * i);
      break;
    case DataType.DOUBLE:
      buf = Buffer.alloc(8 * n);
      for (let i = 0; i < n; i++) buf.writeDoubleLE(values[i]!, 8 * i);
      break;
    case DataType.INT64:
      buf = Buffer.alloc(8 * n);
      for (let i = 0; i < n; i++) buf.writeBigInt64LE(BigInt(values[i]!), 8 * i);
      break;
    case DataType.INT32:
      buf = Buffer.alloc(4 * n);
      for (let i = 0; i < n; i++) buf.writeInt32LE(values[i]!, 4 * i);
      break;
    default:
      throw new OnnxParseError(`makeTensor: unsupported data type ${dataType}`);
  }
  return { name, dims, data_type: dataType, raw_data: new Uint8Array(buf) };
}

export function attrInt(name: string, i: number): AttributeProtoObj {
  return { name, type: AttrType.INT, i };
}
export function attrInts(name: string, ints: number[]): AttributeProtoObj {
  return { name, type: AttrType.INTS, ints };
}
export function attrFloat(name: string, f: number): AttributeProtoObj {
  return { name, type: AttrType.FLOAT, f };
}
export function valueInfo(name: string, elemType: number, dims: (number | string)[]): ValueInfoProtoObj {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

/** Wrap a graph into a ModelProto with the given opset. */
export function makeModel(graph: GraphProtoObj, opset: number, producer = "veriml-verifier-gen"): ModelProtoObj {
  return {
    ir_version: 8,
    opset_import: [{ domain: "", version: opset }],
    producer_name: producer,
    producer_version: "0.1.0",
    graph,
  };
}
