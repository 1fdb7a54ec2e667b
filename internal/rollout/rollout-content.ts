// The content of a rollout file as a byte stream, `.jsonl` or `.jsonl.zst` alike. Offsets are
// always offsets in the decompressed content, so a cursor stays valid when codex turns a
// compressed rollout back into plain JSONL.
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";

import { appendTail } from "./raw-lines.js";
import { isZstdPath, zstdDecompress } from "./zstd.js";

/** Bytes read per chunk. */
export const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * The file's bytes from `start` to its size when opened (what is appended meanwhile is left for the
 * next read), in fresh buffers: callers may keep views into earlier chunks.
 */
export async function* readFileFrom(
  path: string,
  start = 0,
): AsyncGenerator<Buffer, void, undefined> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    let position = start;
    while (position < size) {
      const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, size - position));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** The whole (decompressed) content of a rollout. */
export function readRolloutContent(path: string): AsyncGenerator<Buffer, void, undefined> {
  if (!isZstdPath(path)) return readFileFrom(path);
  return zstdDecompress(createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }));
}

/** A rollout's content opened at an offset. */
export interface ContentFrom {
  /** Up to `tailBytes` bytes just before `offset` (fewer when the content is shorter). */
  before: Buffer;
  /** True when the content reaches `offset` at all. */
  reachesOffset: boolean;
  /** The content from `offset` on. Iterate it to the end, or call `return()`, to close the file. */
  chunks: AsyncGenerator<Buffer, void, undefined>;
}

/**
 * Opens a rollout's content at `offset`. Plain files are read from there directly; compressed ones
 * must be decompressed from the start, so their cost grows with the file (codex only compresses
 * idle, archived threads, and materialises them as plain JSONL on the next turn).
 */
export async function openContentAt(
  path: string,
  offset: number,
  tailBytes: number,
): Promise<ContentFrom> {
  if (!isZstdPath(path)) {
    const beforeStart = Math.max(0, offset - tailBytes);
    const handle = await open(path, "r");
    let before: Buffer;
    let size: number;
    try {
      size = (await handle.stat()).size;
      const buffer = Buffer.alloc(offset - beforeStart);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, beforeStart);
      before = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
    return { before, reachesOffset: size >= offset, chunks: readFileFrom(path, offset) };
  }
  const all = readRolloutContent(path);
  let position = 0;
  let before: Buffer = Buffer.alloc(0);
  for (;;) {
    const next = await all.next();
    if (next.done === true) {
      return { before, reachesOffset: position >= offset, chunks: emptyChunks() };
    }
    const chunk = next.value;
    const end = position + chunk.length;
    if (end < offset) {
      before = appendTail(before, chunk, tailBytes);
      position = end;
      continue;
    }
    const split = offset - position;
    before = appendTail(before, chunk.subarray(0, split), tailBytes);
    const rest = chunk.subarray(split);
    return { before, reachesOffset: true, chunks: prepend(rest, all) };
  }
}

async function* emptyChunks(): AsyncGenerator<Buffer, void, undefined> {}

async function* prepend(
  first: Buffer,
  rest: AsyncGenerator<Buffer, void, undefined>,
): AsyncGenerator<Buffer, void, undefined> {
  try {
    if (first.length > 0) yield first;
    yield* rest;
  } finally {
    await rest.return();
  }
}
