// The framing of the plugin ⇄ mcp-host socket: a 4-byte big-endian payload length, then that many
// bytes of UTF-8 JSON holding one object. Anything else is a protocol violation, and the connection
// that sent it is dropped.

/** Frames above this are refused; an MCP result with a few images fits comfortably. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

const HEADER_BYTES = 4;

/** A frame that breaks the framing rules; the connection cannot be trusted afterwards. */
export class FrameError extends Error {
  override name = "FrameError";
}

/** Encodes one message as a frame. */
export function encodeFrame(message: object): Buffer {
  const payload = Buffer.from(JSON.stringify(message), "utf8");
  if (payload.length > MAX_FRAME_BYTES) {
    throw new FrameError(`frame of ${payload.length} bytes exceeds ${MAX_FRAME_BYTES} bytes`);
  }
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32BE(payload.length, 0);
  return Buffer.concat([header, payload]);
}

/** Incremental decoder: feed it chunks as they arrive, get whole messages back. */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #failed = false;

  constructor(maxFrameBytes = MAX_FRAME_BYTES) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** The decoded messages completed by `chunk`. Throws FrameError, after which it stays failed. */
  push(chunk: Buffer): Record<string, unknown>[] {
    if (this.#failed) throw new FrameError("the stream already broke the framing rules");
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const messages: Record<string, unknown>[] = [];
    try {
      for (;;) {
        const message = this.#next();
        if (message === undefined) return messages;
        messages.push(message);
      }
    } catch (error) {
      this.#failed = true;
      this.#chunks = [];
      this.#buffered = 0;
      throw error;
    }
  }

  /** Bytes received but not yet part of a whole frame. */
  get pendingBytes(): number {
    return this.#buffered;
  }

  #next(): Record<string, unknown> | undefined {
    if (this.#buffered < HEADER_BYTES) return undefined;
    const head = (this.#chunks[0] as Buffer).length >= HEADER_BYTES ? this.#chunks[0] : undefined;
    const length = (head ?? this.#coalesce()).readUInt32BE(0);
    if (length === 0) throw new FrameError("empty frame");
    if (length > this.#maxFrameBytes) {
      throw new FrameError(`frame of ${length} bytes exceeds ${this.#maxFrameBytes} bytes`);
    }
    // Joined only once the whole frame is here, so a large frame is not copied per chunk.
    if (this.#buffered < HEADER_BYTES + length) return undefined;
    const buffer = this.#coalesce();
    const payload = buffer.subarray(HEADER_BYTES, HEADER_BYTES + length);
    const rest = buffer.subarray(HEADER_BYTES + length);
    this.#chunks = rest.length === 0 ? [] : [rest];
    this.#buffered = rest.length;
    return parsePayload(payload);
  }

  #coalesce(): Buffer {
    if (this.#chunks.length !== 1) this.#chunks = [Buffer.concat(this.#chunks, this.#buffered)];
    return this.#chunks[0] as Buffer;
  }
}

function parsePayload(payload: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
  } catch (error) {
    throw new FrameError(`frame is not UTF-8 JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new FrameError("frame does not hold a JSON object");
  }
  return value as Record<string, unknown>;
}
