// Splits a byte stream into text lines. Holds at most one line in memory, and never more than
// `maxLineBytes` of it: a longer line is skipped while it streams past and reported once.

/** Codex puts whole tool outputs on one line, so the cap is generous; it exists to bound memory. */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

export type SplitLine =
  | { kind: "line"; lineNumber: number; text: string }
  | { kind: "oversize"; lineNumber: number; bytes: number };

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export class LineSplitter {
  readonly #maxLineBytes: number;
  // Invalid UTF-8 becomes U+FFFD instead of throwing; a "\n" byte never occurs inside a UTF-8
  // sequence, so decoding whole lines never splits a character.
  readonly #decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: false });
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #discarding = false;
  #discardedBytes = 0;
  #lineNumber = 0;

  constructor(maxLineBytes: number = DEFAULT_MAX_LINE_BYTES) {
    if (!(maxLineBytes > 0)) throw new RangeError("maxLineBytes must be positive");
    this.#maxLineBytes = maxLineBytes;
  }

  /** Feeds one chunk; returns the lines it completed. */
  push(chunk: Uint8Array): SplitLine[] {
    const out: SplitLine[] = [];
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      const end = newline === -1 ? chunk.length : newline;
      if (newline !== -1 && this.#pendingBytes === 0 && !this.#discarding) {
        // The whole line is in this chunk: decode it in place, without the two copies below.
        if (end - start > this.#maxLineBytes) {
          this.#discarding = true;
          this.#discardedBytes = end - start;
        } else {
          this.#lineNumber += 1;
          out.push({
            kind: "line",
            lineNumber: this.#lineNumber,
            text: this.#decode(chunk, start, end),
          });
          start = newline + 1;
          continue;
        }
      } else {
        this.#append(chunk.subarray(start, end));
      }
      if (newline === -1) break;
      out.push(this.#finishLine());
      start = newline + 1;
    }
    return out;
  }

  // A line's bytes without its trailing "\r", as text.
  #decode(bytes: Uint8Array, start: number, end: number): string {
    const last = end > start && bytes[end - 1] === CARRIAGE_RETURN ? end - 1 : end;
    return this.#decoder.decode(bytes.subarray(start, last));
  }

  /** Flushes a final line that had no trailing newline. */
  end(): SplitLine[] {
    if (this.#pendingBytes === 0 && !this.#discarding) return [];
    return [this.#finishLine()];
  }

  #append(part: Uint8Array): void {
    if (part.length === 0) return;
    if (this.#discarding) {
      this.#discardedBytes += part.length;
      return;
    }
    if (this.#pendingBytes + part.length > this.#maxLineBytes) {
      this.#discarding = true;
      this.#discardedBytes = this.#pendingBytes + part.length;
      this.#pending = [];
      this.#pendingBytes = 0;
      return;
    }
    // Copy: the caller's chunk buffer may be reused after push() returns.
    this.#pending.push(Buffer.from(part));
    this.#pendingBytes += part.length;
  }

  #finishLine(): SplitLine {
    this.#lineNumber += 1;
    const lineNumber = this.#lineNumber;
    if (this.#discarding) {
      const bytes = this.#discardedBytes;
      this.#discarding = false;
      this.#discardedBytes = 0;
      return { kind: "oversize", lineNumber, bytes };
    }
    const bytes = Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    return { kind: "line", lineNumber, text: this.#decode(bytes, 0, bytes.length) };
  }
}
