// Binary protobuf encoding for the messages the plugin sends, byte for byte what protobuf-es's
// toBinary() writes, in a fraction of the time for messages carrying long strings. toBinary
// copies every nested message into its parent when it closes it (a command's output inside
// CommandExecution inside ToolEvent inside TurnEvent inside RunTurnResponse is copied four times)
// and encodes each string into a fresh TextEncoder array; on the RunTurn event stream that was
// the plugin's largest single cost. Here a message is written once, into one growing Buffer: a
// nested message reserves one byte for its length and is moved only in the rare case its length
// needs more. Which fields are written, in which order and how, follows protobuf-es's own
// reflection API (sortedFields, isSet, get) exactly as its to-binary.js does. A value this code
// does not expect (a 64-bit number that is not a bigint, an out-of-range int32, a missing required
// field) hands the whole message to toBinary(), which encodes it or throws its usual error.
// encodeInit writes an init object (MessageInitShape) the same way without create() first, which
// copies every field into a new message; it falls back to create() where create() converts.
import {
  create,
  type DescField,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
  ScalarType,
  toBinary,
} from "@bufbuild/protobuf";
import { isScalarZeroValue, reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { isWrapperDesc } from "@bufbuild/protobuf/wkt";

import { WireType, Writer } from "./proto-writer.js";

// google.protobuf.FeatureSet.FieldPresence, as in protobuf-es's to-binary.js and create.js.
const IMPLICIT = 2;
const LEGACY_REQUIRED = 3;
const FLOAT32_MAX = 3.4028234663852886e38;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** Thrown inside the encoder when a value needs protobuf-es's own handling. */
class Fallback extends Error {}

function wireTypeOf(type: ScalarType): WireType {
  switch (type) {
    case ScalarType.BYTES:
    case ScalarType.STRING:
      return WireType.LengthDelimited;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.Bit64;
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
    case ScalarType.FLOAT:
      return WireType.Bit32;
    default:
      return WireType.Varint;
  }
}

function int32(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value)) throw new Fallback();
  if (value < INT32_MIN || value > INT32_MAX) throw new Fallback();
  return value;
}

function uint32(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value)) throw new Fallback();
  if (value < 0 || value > UINT32_MAX) throw new Fallback();
  return value;
}

function int64(value: unknown): bigint {
  if (typeof value !== "bigint" || value < INT64_MIN || value > INT64_MAX) throw new Fallback();
  return value;
}

function uint64(value: unknown): bigint {
  if (typeof value !== "bigint" || value < 0n || value > UINT64_MAX) throw new Fallback();
  return value;
}

function writeScalarValue(w: Writer, type: ScalarType, value: unknown): void {
  switch (type) {
    case ScalarType.STRING:
      if (typeof value !== "string") throw new Fallback();
      w.string(value);
      return;
    case ScalarType.BOOL:
      if (typeof value !== "boolean") throw new Fallback();
      w.varint(value ? 1 : 0);
      return;
    case ScalarType.DOUBLE:
      if (typeof value !== "number") throw new Fallback();
      w.ensure(8);
      w.buf.writeDoubleLE(value, w.pos);
      w.pos += 8;
      return;
    case ScalarType.FLOAT:
      if (typeof value !== "number") throw new Fallback();
      if (Number.isFinite(value) && Math.abs(value) > FLOAT32_MAX) throw new Fallback();
      w.ensure(4);
      w.buf.writeFloatLE(value, w.pos);
      w.pos += 4;
      return;
    case ScalarType.INT32: {
      // Negative values are sign-extended to ten bytes.
      const v = int32(value);
      if (v >= 0) w.varint(v);
      else w.varint64(BigInt.asUintN(64, BigInt(v)));
      return;
    }
    case ScalarType.UINT32:
      w.varint(uint32(value));
      return;
    case ScalarType.SINT32: {
      const v = int32(value);
      w.varint(((v << 1) ^ (v >> 31)) >>> 0);
      return;
    }
    case ScalarType.FIXED32:
      w.ensure(4);
      w.buf.writeUInt32LE(uint32(value), w.pos);
      w.pos += 4;
      return;
    case ScalarType.SFIXED32:
      w.ensure(4);
      w.buf.writeInt32LE(int32(value), w.pos);
      w.pos += 4;
      return;
    case ScalarType.INT64:
      w.varint64(BigInt.asUintN(64, int64(value)));
      return;
    case ScalarType.UINT64:
      w.varint64(uint64(value));
      return;
    case ScalarType.SINT64: {
      const v = int64(value);
      w.varint64(BigInt.asUintN(64, (v << 1n) ^ (v >> 63n)));
      return;
    }
    case ScalarType.FIXED64:
      w.ensure(8);
      w.buf.writeBigUInt64LE(uint64(value), w.pos);
      w.pos += 8;
      return;
    case ScalarType.SFIXED64:
      w.ensure(8);
      w.buf.writeBigInt64LE(int64(value), w.pos);
      w.pos += 8;
      return;
    case ScalarType.BYTES:
      if (!(value instanceof Uint8Array)) throw new Fallback();
      w.bytes(value);
      return;
    default:
      throw new Fallback();
  }
}

function writeScalar(w: Writer, type: ScalarType, fieldNo: number, value: unknown): void {
  w.tag(fieldNo, wireTypeOf(type));
  writeScalarValue(w, type, value);
}

function writeScalarList(
  w: Writer,
  field: {
    readonly number: number;
    readonly packed: boolean;
    readonly scalar: ScalarType | undefined;
  },
  items: Iterable<unknown>,
  size: number,
): void {
  const type = field.scalar ?? ScalarType.INT32;
  if (!field.packed) {
    for (const item of items) writeScalar(w, type, field.number, item);
    return;
  }
  if (size === 0) return;
  w.tag(field.number, WireType.LengthDelimited);
  const start = w.startLength();
  for (const item of items) writeScalarValue(w, type, item);
  w.endLength(start);
}

function writeMessageField(
  w: Writer,
  field: { readonly number: number; readonly delimitedEncoding: boolean },
  message: ReflectMessage,
): void {
  if (field.delimitedEncoding) {
    w.tag(field.number, WireType.StartGroup);
    writeFields(w, message);
    w.tag(field.number, WireType.EndGroup);
    return;
  }
  w.tag(field.number, WireType.LengthDelimited);
  const start = w.startLength();
  writeFields(w, message);
  w.endLength(start);
}

function writeFields(w: Writer, message: ReflectMessage): void {
  for (const field of message.sortedFields) {
    if (!message.isSet(field)) {
      if (field.presence === LEGACY_REQUIRED) throw new Fallback();
      continue;
    }
    switch (field.fieldKind) {
      case "scalar":
      case "enum":
        writeScalar(w, field.scalar ?? ScalarType.INT32, field.number, message.get(field));
        break;
      case "message":
        writeMessageField(w, field, message.get(field));
        break;
      case "list": {
        const list = message.get(field);
        if (field.listKind === "message") {
          for (const item of list) writeMessageField(w, field, item as ReflectMessage);
          break;
        }
        writeScalarList(w, field, list, list.size);
        break;
      }
      case "map":
        for (const [key, value] of message.get(field)) {
          w.tag(field.number, WireType.LengthDelimited);
          const start = w.startLength();
          writeScalar(w, field.mapKey, 1, key);
          if (field.mapKind === "message") {
            w.tag(2, WireType.LengthDelimited);
            const inner = w.startLength();
            writeFields(w, value as ReflectMessage);
            w.endLength(inner);
          } else {
            writeScalar(w, field.scalar ?? ScalarType.INT32, 2, value);
          }
          w.endLength(start);
        }
        break;
    }
  }
  for (const { no, wireType, data } of message.getUnknown() ?? []) {
    w.varint(no * 8 + wireType);
    w.ensure(data.byteLength);
    w.buf.set(data, w.pos);
    w.pos += data.byteLength;
  }
}

/**
 * Encodes `message` to the protobuf binary format: the same bytes as protobuf-es's
 * `toBinary(schema, message)`, as a Buffer that may share memory with a larger one.
 */
export function encodeMessage<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
): Buffer {
  const writer = new Writer(initialCapacity(schema));
  try {
    writeFields(writer, reflect(schema, message));
  } catch (error) {
    if (!(error instanceof Fallback)) throw error;
    const bytes = toBinary(schema, message);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return finished(schema, writer);
}

const MIN_CAPACITY = 512;
const MAX_CAPACITY_HINT = 4 * 1024 * 1024;
const lastSize = new WeakMap<DescMessage, number>();

// Messages of one type come in similar sizes (a RunTurn batch is about one 64 KiB read of codex's
// output): starting at the last size saves growing, and copying, the buffer step by step.
function initialCapacity(schema: DescMessage): number {
  return Math.max(MIN_CAPACITY, lastSize.get(schema) ?? 0);
}

function finished(schema: DescMessage, writer: Writer): Buffer {
  lastSize.set(schema, Math.min(writer.pos, MAX_CAPACITY_HINT));
  return writer.buf.subarray(0, writer.pos);
}

const sortedFieldsCache = new WeakMap<DescMessage, readonly DescField[]>();

/** The fields in number order, the order toBinary writes them in. */
function sortedFields(desc: DescMessage): readonly DescField[] {
  let fields = sortedFieldsCache.get(desc);
  if (fields === undefined) {
    fields = [...desc.fields].sort((a, b) => a.number - b.number);
    sortedFieldsCache.set(desc, fields);
  }
  return fields;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array)
  );
}

/** A map key as reflection yields it: object keys are strings. */
function mapKeyValue(type: ScalarType, key: string): unknown {
  switch (type) {
    case ScalarType.STRING:
      return key;
    case ScalarType.BOOL:
      if (key === "true" || key === "false") return key === "true";
      throw new Fallback();
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      if (!/^-?\d+$/.test(key)) throw new Fallback();
      return BigInt(key);
    default: {
      const number = Number(key);
      if (!/^-?\d+$/.test(key) || !Number.isSafeInteger(number)) throw new Fallback();
      return number;
    }
  }
}

/** A message-typed value of an init object: a message, or an init object of `desc`. */
function writeInitMessageValue(w: Writer, desc: DescMessage, value: unknown): void {
  // create() unwraps wrappers and keeps Struct fields as JSON objects.
  if (!isPlainObject(value) || isWrapperDesc(desc) || desc.typeName === "google.protobuf.Struct") {
    throw new Fallback();
  }
  if ("$typeName" in value) {
    if (value["$typeName"] !== desc.typeName) throw new Fallback();
    writeFields(w, reflect(desc, value as MessageShape<DescMessage>));
  } else {
    writeInitFields(w, desc, value);
  }
}

function writeInitMessageField(
  w: Writer,
  field: { readonly number: number; readonly delimitedEncoding: boolean },
  desc: DescMessage,
  value: unknown,
): void {
  if (field.delimitedEncoding) {
    w.tag(field.number, WireType.StartGroup);
    writeInitMessageValue(w, desc, value);
    w.tag(field.number, WireType.EndGroup);
    return;
  }
  w.tag(field.number, WireType.LengthDelimited);
  const start = w.startLength();
  writeInitMessageValue(w, desc, value);
  w.endLength(start);
}

function writeInitFields(w: Writer, desc: DescMessage, init: Record<string, unknown>): void {
  if ("$unknown" in init) throw new Fallback();
  for (const field of sortedFields(desc)) {
    let value: unknown;
    if (field.oneof === undefined) {
      value = init[field.localName];
      // create() ignores undefined and null.
      if (value === undefined || value === null) {
        if (field.presence === LEGACY_REQUIRED) throw new Fallback();
        continue;
      }
    } else {
      const selected = init[field.oneof.localName] as { case?: unknown; value?: unknown } | null;
      if (selected?.case !== field.localName) continue;
      value = selected.value;
      if (value === undefined || value === null) throw new Fallback();
    }
    switch (field.fieldKind) {
      case "scalar":
      case "enum": {
        if (field.oneof === undefined && field.presence === IMPLICIT) {
          const zero =
            field.fieldKind === "enum"
              ? value === field.enum.values[0]?.number
              : isScalarZeroValue(field.scalar, value);
          if (zero) continue;
        }
        writeScalar(w, field.scalar ?? ScalarType.INT32, field.number, value);
        break;
      }
      case "message":
        writeInitMessageField(w, field, field.message, value);
        break;
      case "list": {
        if (!Array.isArray(value)) throw new Fallback();
        if (field.listKind === "message") {
          for (const item of value) writeInitMessageField(w, field, field.message, item);
          break;
        }
        writeScalarList(w, field, value, value.length);
        break;
      }
      case "map":
        if (!isPlainObject(value) || "$typeName" in value) throw new Fallback();
        for (const [key, item] of Object.entries(value)) {
          w.tag(field.number, WireType.LengthDelimited);
          const start = w.startLength();
          writeScalar(w, field.mapKey, 1, mapKeyValue(field.mapKey, key));
          if (field.mapKind === "message") {
            w.tag(2, WireType.LengthDelimited);
            const inner = w.startLength();
            writeInitMessageValue(w, field.message, item);
            w.endLength(inner);
          } else {
            writeScalar(w, field.scalar ?? ScalarType.INT32, 2, item);
          }
          w.endLength(start);
        }
        break;
    }
  }
}

/**
 * Encodes an init object of `schema` (or a message) to what
 * `toBinary(schema, create(schema, init))` writes, without creating the message.
 */
export function encodeInit<Desc extends DescMessage>(
  schema: Desc,
  init: MessageInitShape<Desc>,
): Buffer {
  return encodeInitDirect(schema, init) ?? encodeMessage(schema, create(schema, init));
}

/** {@link encodeInit} without the fallback: undefined where create() would have to convert. */
export function encodeInitDirect<Desc extends DescMessage>(
  schema: Desc,
  init: MessageInitShape<Desc>,
): Buffer | undefined {
  const writer = new Writer(initialCapacity(schema));
  try {
    writeInitMessageValue(writer, schema, init);
  } catch (error) {
    if (!(error instanceof Fallback)) throw error;
    return undefined;
  }
  return finished(schema, writer);
}
