// Splits a byte stream into raw JSONL lines with their byte offsets, without decoding them: the
// rewrite copies most lines untouched, and only a few are ever turned into strings.

/** One line of the stream, without its "\n". */
export interface RawLine {
  /** The line's bytes; may be a view into a chunk, valid until the next line is requested. */
  bytes: Buffer;
  /** Offset of the line's first byte. */
  start: number;
  /** Offset just after the line's "\n", or after its last byte when it has none. */
  end: number;
  /** False for a final line without "\n": a write in progress, or one cut short by a crash. */
  terminated: boolean;
}

const NEWLINE = 0x0a;

/**
 * Yields the lines of `chunks`, whose first byte is at `startOffset`. Memory holds one chunk plus
 * the part of a line that spans chunks.
 */
export async function* rawLines(
  chunks: AsyncIterable<Buffer>,
  startOffset = 0,
): AsyncGenerator<RawLine, void, undefined> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let lineStart = startOffset;
  let position = startOffset;
  for await (const chunk of chunks) {
    let from = 0;
    for (;;) {
      const newline = chunk.indexOf(NEWLINE, from);
      if (newline === -1) break;
      let bytes = chunk.subarray(from, newline);
      if (pendingBytes > 0) {
        pending.push(bytes);
        bytes = Buffer.concat(pending, pendingBytes + bytes.length);
        pending = [];
        pendingBytes = 0;
      }
      const end = position + newline + 1;
      yield { bytes, start: lineStart, end, terminated: true };
      lineStart = end;
      from = newline + 1;
    }
    if (from < chunk.length) {
      pending.push(chunk.subarray(from));
      pendingBytes += chunk.length - from;
    }
    position += chunk.length;
  }
  if (pendingBytes > 0) {
    yield {
      bytes: Buffer.concat(pending, pendingBytes),
      start: lineStart,
      end: position,
      terminated: false,
    };
  }
}

const NEWLINE_BYTES = Buffer.from("\n");

/**
 * The last `count` bytes of a stream whose last bytes so far are `tail`, once `more` follows.
 * Always a copy, never a view into `more` (which may be a chunk that is reused).
 */
export function appendTail(tail: Buffer, more: Buffer, count: number): Buffer {
  if (more.length >= count) return Buffer.from(more.subarray(more.length - count));
  const joined = Buffer.concat([tail, more]);
  return joined.length <= count ? joined : joined.subarray(joined.length - count);
}

/** {@link appendTail} for a line and its newline. */
export function tailAfterLine(tail: Buffer, line: Buffer, count: number): Buffer {
  return appendTail(appendTail(tail, line, count), NEWLINE_BYTES, count);
}
