// The byte side of fast-binary.ts: protobuf's wire types, varints, tags and length-delimited
// fields written into one growing Buffer. A nested message reserves one byte for its length and is
// moved only in the rare case that its length needs more.
export const WireType = {
  Varint: 0,
  Bit64: 1,
  LengthDelimited: 2,
  StartGroup: 3,
  EndGroup: 4,
  Bit32: 5,
} as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

/** The bytes a non-negative varint takes. */
export function varintSize(value: number): number {
  let size = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 128)) size += 1;
  return size;
}

/** One growing buffer a message is written into once. */
export class Writer {
  buf: Buffer;
  pos = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + extra));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** An unsigned varint of at most 2^53 - 1. */
  varint(value: number): void {
    this.ensure(10);
    let rest = value;
    while (rest >= 0x80) {
      this.buf[this.pos++] = (rest % 128) | 0x80;
      rest = Math.floor(rest / 128);
    }
    this.buf[this.pos++] = rest;
  }

  /** An unsigned 64-bit varint. */
  varint64(value: bigint): void {
    if (value <= 0x1fffffffffffffn) {
      this.varint(Number(value));
      return;
    }
    this.ensure(10);
    let rest = value;
    while (rest >= 0x80n) {
      this.buf[this.pos++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    this.buf[this.pos++] = Number(rest);
  }

  tag(fieldNo: number, wireType: WireType): void {
    this.varint(fieldNo * 8 + wireType);
  }

  string(value: string): void {
    const length = Buffer.byteLength(value, "utf8");
    this.varint(length);
    this.ensure(length);
    this.pos += this.buf.write(value, this.pos, length, "utf8");
  }

  bytes(value: Uint8Array): void {
    this.varint(value.byteLength);
    this.ensure(value.byteLength);
    this.buf.set(value, this.pos);
    this.pos += value.byteLength;
  }

  /** Starts a length-delimited value; pass the result to {@link endLength}. */
  startLength(): number {
    this.ensure(1);
    this.pos += 1;
    return this.pos;
  }

  endLength(start: number): void {
    const length = this.pos - start;
    const size = varintSize(length);
    if (size > 1) {
      // The reserved byte is too small: move the value up to make room.
      this.ensure(size - 1);
      this.buf.copyWithin(start + size - 1, start, this.pos);
      this.pos += size - 1;
    }
    let at = start - 1;
    let rest = length;
    while (rest >= 0x80) {
      this.buf[at++] = (rest % 128) | 0x80;
      rest = Math.floor(rest / 128);
    }
    this.buf[at] = rest;
  }
}
