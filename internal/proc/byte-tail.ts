// Keeps the last N bytes of a stream (stderr), so a chatty child cannot grow memory without bound.

export const DEFAULT_TAIL_BYTES = 8 * 1024;

export class ByteTail {
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #size = 0;
  #dropped = false;

  constructor(limit: number = DEFAULT_TAIL_BYTES) {
    this.#limit = limit;
  }

  /** Appends a chunk, dropping the oldest bytes beyond the limit. */
  push(chunk: Uint8Array): void {
    const buffer = Buffer.from(chunk);
    if (buffer.length >= this.#limit) {
      this.#chunks = [buffer.subarray(buffer.length - this.#limit)];
      this.#dropped = this.#dropped || buffer.length > this.#limit || this.#size > 0;
      this.#size = this.#limit;
      return;
    }
    this.#chunks.push(buffer);
    this.#size += buffer.length;
    while (this.#size > this.#limit) {
      const first = this.#chunks[0] as Buffer;
      const excess = this.#size - this.#limit;
      this.#dropped = true;
      if (first.length <= excess) {
        this.#chunks.shift();
        this.#size -= first.length;
      } else {
        this.#chunks[0] = first.subarray(excess);
        this.#size -= excess;
      }
    }
  }

  /** The kept bytes as UTF-8; a character cut at the start becomes U+FFFD, then is trimmed. */
  toString(): string {
    const text = Buffer.concat(this.#chunks, this.#size).toString("utf8");
    return this.#dropped ? text.replace(/^\uFFFD+/, "") : text;
  }
}
