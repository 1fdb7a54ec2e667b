// The yamux frame format, written from hashicorp/yamux's spec.md and const.go: a 12-byte big-endian
// header (version, type, flags, stream id, length), followed by `length` payload bytes for Data.

/** Frame types. */
export const FrameType = { Data: 0, WindowUpdate: 1, Ping: 2, GoAway: 3 } as const;

/** Header flags. */
export const Flag = { SYN: 1, ACK: 2, FIN: 4, RST: 8 } as const;

/** GoAway codes. */
export const GoAway = { Normal: 0, ProtocolError: 1, InternalError: 2 } as const;

/** The only protocol version. */
export const YAMUX_VERSION = 0;

/** Bytes in a frame header. */
export const HEADER_SIZE = 12;

/** Every stream starts with this receive window in both directions (yamux's default maximum too). */
export const INITIAL_STREAM_WINDOW = 256 * 1024;

/** A decoded frame header. */
export interface FrameHeader {
  version: number;
  type: number;
  flags: number;
  streamId: number;
  /** Payload size for Data, window delta, ping value or GoAway code. */
  length: number;
}

/** A frame as read off the wire. */
export interface Frame {
  header: FrameHeader;
  /** The payload of a Data frame; empty for the other types. */
  payload: Buffer;
}

/** Encodes a header; the payload, if any, follows it on the wire. */
export function encodeHeader(
  type: number,
  flags: number,
  streamId: number,
  length: number,
): Buffer {
  const header = Buffer.allocUnsafe(HEADER_SIZE);
  header.writeUInt8(YAMUX_VERSION, 0);
  header.writeUInt8(type, 1);
  header.writeUInt16BE(flags, 2);
  header.writeUInt32BE(streamId, 4);
  header.writeUInt32BE(length, 8);
  return header;
}

/**
 * Cuts a byte stream into frames, however the bytes arrive: a header or payload split across
 * chunks waits for the rest.
 */
export class FrameReader {
  /** @param maxDataLength larger Data payloads throw at their header, before being buffered. */
  constructor(private readonly maxDataLength: number) {}

  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private header: FrameHeader | undefined;

  /** Adds `chunk` and returns every frame it completes. */
  push(chunk: Buffer): Frame[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.header === undefined) {
        if (this.pendingBytes < HEADER_SIZE) break;
        const bytes = this.take(HEADER_SIZE);
        this.header = {
          version: bytes.readUInt8(0),
          type: bytes.readUInt8(1),
          flags: bytes.readUInt16BE(2),
          streamId: bytes.readUInt32BE(4),
          length: bytes.readUInt32BE(8),
        };
        if (this.header.type === FrameType.Data && this.header.length > this.maxDataLength) {
          throw new Error(
            `yamux data frame of ${this.header.length} bytes exceeds the receive window`,
          );
        }
      }
      const size = this.header.type === FrameType.Data ? this.header.length : 0;
      if (this.pendingBytes < size) break;
      frames.push({ header: this.header, payload: size === 0 ? Buffer.alloc(0) : this.take(size) });
      this.header = undefined;
    }
    return frames;
  }

  private take(size: number): Buffer {
    const joined = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    const taken = joined.subarray(0, size);
    const rest = joined.subarray(size);
    this.pending = rest.length === 0 ? [] : [rest];
    this.pendingBytes = rest.length;
    return taken;
  }
}
