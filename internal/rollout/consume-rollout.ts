// Consume: rewrites a rollout so that consumed tool calls carry "{}" as their arguments (or input)
// and a short marker as their output; the next `codex exec resume` sends the model that instead.
// Streamed in two passes (find the lines to change, then copy the file with those lines replaced),
// so memory follows the consumed lines, not the file. The integrity rules of research §3.4 hold:
// line 1 is never touched, ordinals are never renumbered, an edited line keeps its type and
// ordinal, a last line without its newline stays as it is, and every other line is copied byte for
// byte. The new file replaces the old one atomically (temp file, fsync, rename, directory fsync),
// with the old file's mode, owner and times.
import { randomBytes } from "node:crypto";
import type { Stats } from "node:fs";
import { chown, type FileHandle, open, rename, rm, stat, utimes } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

import { AppError } from "../core/app-error.js";
import { fsyncDirectory } from "../store/thread-store.js";
import { appendTail, rawLines, tailAfterLine } from "./raw-lines.js";
import { readRolloutContent } from "./rollout-content.js";
import { CALL_TYPES, isRecord, OUTPUT_TYPES, parseRolloutLine } from "./rollout-line.js";
import { isZstdPath, ZstdFrameEncoder } from "./zstd.js";

/** What a consumed call's output becomes. */
export const CONSUMED_MARKER = "...(tool called)";
/** What a consumed call's arguments (or custom tool input) become. */
export const CONSUMED_ARGUMENTS = "{}";

/** The answer to one consume. */
export interface ConsumeOutcome {
  /** Ids whose lines were rewritten now. */
  rewritten: string[];
  /** Ids found, but every line of them already consumed. */
  alreadyConsumed: string[];
  /** Ids with no function or custom tool call (or output) in the rollout. */
  notFound: string[];
  /** True when the file was replaced. */
  written: boolean;
  /** Where `track` is in the new file, and the bytes before it (when written and still valid). */
  tracked?: { offset: number; before: Buffer };
}

export interface ConsumeOptions {
  /** Runs right before the rename; throwing abandons the rewrite (e.g. codex took the lock). */
  beforeCommit?: () => Promise<void>;
  /**
   * A position of the old content to locate in the new one: the mirror's cursor, an offset just
   * after a line and the bytes before it. It is only followed when it still matches the old
   * content; a cursor that no longer does is left for the mirror to notice.
   */
  track?: { offset: number; before: Buffer };
}

interface Edit {
  /** The replaced line's content, [start, end) in the old content, its newline excluded. */
  start: number;
  end: number;
  replacement: Buffer;
}

interface Scan {
  edits: Edit[];
  found: Set<string>;
  changed: Set<string>;
  /** Total content bytes seen. */
  contentBytes: number;
  /** True when `track` matched the old content. */
  trackValid: boolean;
}

const WRITE_BATCH_BYTES = 1024 * 1024;

/** Consumes `blockIds` in the rollout at `path`. Idempotent: a repeat writes nothing. */
export async function consumeRollout(
  path: string,
  blockIds: readonly string[],
  options: ConsumeOptions = {},
): Promise<ConsumeOutcome> {
  const ids = [...new Set(blockIds)];
  const wanted = new Set(ids.filter((id) => id !== ""));
  const original = await stat(path);
  const scan = await scanRollout(path, wanted, options.track);
  const outcome: ConsumeOutcome = {
    rewritten: ids.filter((id) => scan.changed.has(id)),
    alreadyConsumed: ids.filter((id) => scan.found.has(id) && !scan.changed.has(id)),
    notFound: ids.filter((id) => !scan.found.has(id)),
    written: false,
  };
  if (scan.edits.length === 0) return outcome;
  const tracked = await rewrite(path, original, scan, options);
  outcome.written = true;
  if (tracked !== undefined) outcome.tracked = tracked;
  return outcome;
}

// Pass 1: which lines change, and into what. Only lines naming a wanted call id are parsed.
async function scanRollout(
  path: string,
  wanted: ReadonlySet<string>,
  track: ConsumeOptions["track"],
): Promise<Scan> {
  const scan: Scan = {
    edits: [],
    found: new Set(),
    changed: new Set(),
    contentBytes: 0,
    trackValid: track?.offset === 0 && track.before.length === 0,
  };
  const trackBytes = track?.before.length ?? 0;
  let tail: Buffer = Buffer.alloc(0);
  let index = 0;
  for await (const line of rawLines(readRolloutContent(path))) {
    scan.contentBytes = line.end;
    if (track !== undefined && line.terminated && line.end <= track.offset && trackBytes > 0) {
      tail = tailAfterLine(tail, line.bytes, trackBytes);
      if (line.end === track.offset) scan.trackValid = tail.equals(track.before);
    }
    if (index++ === 0) {
      if (parseRolloutLine(line.bytes.toString("utf8"))?.type !== "session_meta") {
        throw new AppError(
          "ROLLOUT_CORRUPT",
          `rollout ${path} does not start with session metadata; codex cannot resume it, and it ` +
            "is left as it is",
        );
      }
      continue;
    }
    // A line without its newline is a write cut short: it is never edited.
    if (!line.terminated || wanted.size === 0 || !namesWantedCall(line.bytes, wanted)) continue;
    let value: unknown;
    try {
      value = JSON.parse(line.bytes.toString("utf8"));
    } catch {
      continue; // A corrupt line is copied as it is; codex skips it.
    }
    if (consumeLine(value, wanted, scan.found, scan.changed)) {
      scan.edits.push({
        start: line.start,
        end: line.start + line.bytes.length,
        replacement: Buffer.from(JSON.stringify(value), "utf8"),
      });
    }
  }
  if (index === 0) {
    throw new AppError("ROLLOUT_CORRUPT", `rollout ${path} is empty`);
  }
  return scan;
}

const CALL_ID_KEY = Buffer.from('"call_id"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * True when a `"call_id": "<id>"` member names a wanted id. A quoted key inside a JSON string is
 * escaped (\"call_id\"), so the byte pattern only matches real members; a parse confirms.
 */
function namesWantedCall(bytes: Buffer, wanted: ReadonlySet<string>): boolean {
  let at = bytes.indexOf(CALL_ID_KEY);
  while (at !== -1) {
    let cursor = skipSpaces(bytes, at + CALL_ID_KEY.length);
    if (bytes[cursor] === 0x3a /* : */) {
      cursor = skipSpaces(bytes, cursor + 1);
      if (bytes[cursor] === QUOTE) {
        const close = bytes.indexOf(QUOTE, cursor + 1);
        if (close === -1) return false;
        const value = bytes.subarray(cursor + 1, close);
        // An escaped id: let the parse decide.
        if (value.includes(BACKSLASH) || wanted.has(value.toString("utf8"))) return true;
        at = close;
      }
    }
    at = bytes.indexOf(CALL_ID_KEY, at + 1);
  }
  return false;
}

function skipSpaces(bytes: Buffer, from: number): number {
  let cursor = from;
  while (cursor < bytes.length && (bytes[cursor] === 0x20 || bytes[cursor] === 0x09)) cursor += 1;
  return cursor;
}

/**
 * Consumes the wanted calls in one parsed line, in place: a response item, or the copies inside a
 * `compacted` line's replacement_history (which is what codex replays after a compaction). Returns
 * true when anything changed.
 */
export function consumeLine(
  value: unknown,
  wanted: ReadonlySet<string>,
  found: Set<string>,
  changed: Set<string>,
): boolean {
  if (!isRecord(value) || !isRecord(value["payload"])) return false;
  const payload = value["payload"];
  if (value["type"] === "response_item") return consumeItem(payload, wanted, found, changed);
  if (value["type"] === "compacted" && Array.isArray(payload["replacement_history"])) {
    let any = false;
    for (const item of payload["replacement_history"]) {
      if (consumeItem(item, wanted, found, changed)) any = true;
    }
    return any;
  }
  return false;
}

function consumeItem(
  item: unknown,
  wanted: ReadonlySet<string>,
  found: Set<string>,
  changed: Set<string>,
): boolean {
  if (!isRecord(item)) return false;
  const type = item["type"];
  const callId = item["call_id"];
  if (typeof type !== "string" || typeof callId !== "string" || !wanted.has(callId)) return false;
  let field: string;
  let consumed: string;
  if (CALL_TYPES.has(type)) {
    field = type === "custom_tool_call" ? "input" : "arguments";
    consumed = CONSUMED_ARGUMENTS;
  } else if (OUTPUT_TYPES.has(type)) {
    field = "output";
    consumed = CONSUMED_MARKER;
  } else {
    return false;
  }
  found.add(callId);
  if (item[field] === consumed) return false;
  item[field] = consumed;
  changed.add(callId);
  return true;
}

// Pass 2: the old content with the edited lines replaced, into a temp file that then replaces it.
async function rewrite(
  path: string,
  original: Stats,
  scan: Scan,
  options: ConsumeOptions,
): Promise<{ offset: number; before: Buffer } | undefined> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.consume-${randomBytes(6).toString("hex")}.tmp`);
  const mode = original.mode & 0o7777;
  const handle = await open(temp, "wx", mode);
  let closed = false;
  try {
    // open() applied the umask.
    await handle.chmod(mode);
    const track = scan.trackValid ? options.track : undefined;
    const target = track === undefined ? undefined : mapOffset(track.offset, scan.edits);
    const output = new RewriteOutput(
      handle,
      isZstdPath(path) ? await ZstdFrameEncoder.create() : undefined,
      target,
      track?.before.length ?? 0,
    );
    const copied = await copyWithEdits(path, scan.edits, output);
    await output.end();
    if (copied !== scan.contentBytes) throw changedError(path);
    await handle.sync();
    await handle.close();
    closed = true;
    const now = await stat(path);
    if (
      now.size !== original.size ||
      now.mtimeMs !== original.mtimeMs ||
      now.ino !== original.ino
    ) {
      throw changedError(path);
    }
    await options.beforeCommit?.();
    await utimes(temp, original.atime, original.mtime);
    if (process.getuid?.() === 0 && (original.uid !== 0 || original.gid !== 0)) {
      await chown(temp, original.uid, original.gid);
    }
    await rename(temp, path);
    await fsyncDirectory(dir);
    return target === undefined ? undefined : { offset: target, before: output.trackedBefore() };
  } catch (error) {
    if (!closed) await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}

function changedError(path: string): AppError {
  return new AppError(
    "ROLLOUT_CHANGED",
    `rollout ${path} changed while it was being rewritten; nothing was replaced, retry the consume`,
  );
}

/** Where a line-boundary offset of the old content lies in the new content. */
export function mapOffset(offset: number, edits: readonly Edit[]): number {
  let mapped = offset;
  for (const edit of edits) {
    if (edit.end > offset) break;
    mapped += edit.replacement.length - (edit.end - edit.start);
  }
  return mapped;
}

// Streams the old content into `output`, replacing each edit's range. Returns the bytes read.
async function copyWithEdits(
  path: string,
  edits: readonly Edit[],
  output: RewriteOutput,
): Promise<number> {
  let position = 0;
  let next = 0;
  let replaced = false;
  for await (const chunk of readRolloutContent(path)) {
    let at = 0;
    while (at < chunk.length) {
      const edit = edits[next];
      const absolute = position + at;
      if (edit === undefined) {
        await output.write(chunk.subarray(at));
        break;
      }
      if (absolute < edit.start) {
        const count = Math.min(chunk.length - at, edit.start - absolute);
        await output.write(chunk.subarray(at, at + count));
        at += count;
        continue;
      }
      if (!replaced) {
        await output.write(edit.replacement);
        replaced = true;
      }
      const skip = Math.min(chunk.length - at, edit.end - absolute);
      at += skip;
      if (absolute + skip >= edit.end) {
        next += 1;
        replaced = false;
      }
    }
    position += chunk.length;
  }
  return position;
}

/** The temp file's writer: batches writes, compresses for .zst, captures the tracked tail. */
class RewriteOutput {
  readonly #handle: FileHandle;
  readonly #encoder: ZstdFrameEncoder | undefined;
  readonly #target: number | undefined;
  readonly #trackBytes: number;
  #batch: Buffer[] = [];
  #batchBytes = 0;
  #written = 0;
  #recent: Buffer = Buffer.alloc(0);
  #trackedBefore: Buffer | undefined;

  constructor(
    handle: FileHandle,
    encoder: ZstdFrameEncoder | undefined,
    target: number | undefined,
    trackBytes: number,
  ) {
    this.#handle = handle;
    this.#encoder = encoder;
    this.#target = target;
    this.#trackBytes = trackBytes;
    if (target === 0) this.#trackedBefore = Buffer.alloc(0);
  }

  async write(data: Buffer): Promise<void> {
    if (data.length === 0) return;
    this.#track(data);
    this.#written += data.length;
    if (this.#encoder !== undefined) {
      for (const frame of this.#encoder.push(data)) await this.#handle.write(frame);
      return;
    }
    this.#batch.push(data);
    this.#batchBytes += data.length;
    if (this.#batchBytes >= WRITE_BATCH_BYTES) await this.#flush();
  }

  async end(): Promise<void> {
    await this.#flush();
    for (const frame of this.#encoder?.end() ?? []) await this.#handle.write(frame);
  }

  /** The bytes before the tracked offset in the new content. */
  trackedBefore(): Buffer {
    return this.#trackedBefore ?? Buffer.alloc(0);
  }

  async #flush(): Promise<void> {
    if (this.#batchBytes === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    this.#batchBytes = 0;
    // writev may write part of the data; write what is left.
    let { bytesWritten } = await this.#handle.writev(batch);
    for (const buffer of batch) {
      if (bytesWritten >= buffer.length) {
        bytesWritten -= buffer.length;
        continue;
      }
      await this.#handle.write(buffer.subarray(bytesWritten));
      bytesWritten = 0;
    }
  }

  #track(data: Buffer): void {
    const target = this.#target;
    if (target === undefined || this.#trackedBefore !== undefined) return;
    const keep = this.#trackBytes;
    if (this.#written + data.length >= target) {
      const upTo = data.subarray(0, target - this.#written);
      this.#trackedBefore = appendTail(this.#recent, upTo, keep);
      return;
    }
    this.#recent = appendTail(this.#recent, data, keep);
  }
}
