// Mirrors a thread's rollout incrementally: each read parses only the lines appended since the
// previous one, from a cursor (path, byte offset, the bytes before it, the last ordinal) that is
// persisted with the agent's state. The cost of a read follows the new lines, not the session.
import { open } from "node:fs/promises";

import type { CanonicalEvent } from "../core/canonical-event.js";
import type { Clock } from "../core/clock.js";
import type { ContextWindowFill } from "../core/context-window.js";
import { mergeRateLimits, type RateLimitWindow } from "../core/rate-limits.js";
import type { RolloutCursor } from "../store/thread-store.js";
import { type RawLine, rawLines, tailAfterLine } from "./raw-lines.js";
import { openContentAt, readRolloutContent } from "./rollout-content.js";
import { parseRolloutLine } from "./rollout-line.js";
import { locateRollout } from "./rollout-locator.js";
import { tokenCountOf } from "./token-count.js";
import { ToolRecordExtractor } from "./tool-records.js";
import { isZstdPath } from "./zstd.js";

/** Bytes before the cursor offset kept to notice a file rewritten behind the mirror's back. */
export const CURSOR_TAIL_BYTES = 64;

/** What one read found. */
export interface MirrorRead {
  /** False when the thread's rollout does not exist (yet). */
  found: boolean;
  /** tool_call / tool_result events, and warning notices about skipped lines. */
  events: CanonicalEvent[];
  /** The first line read that carries no ordinal (codex 0.169.0 numbers every line). */
  withoutOrdinal?: string;
  /** The context-window fill of the last token count read. */
  context?: ContextWindowFill;
  /** The rate-limit windows of the token counts read, the latest per limit id and kind, if any. */
  rateLimits?: RateLimitWindow[];
  /** The first token count read with fields of a shape the plugin does not understand. */
  tokenCountDrift?: string;
}

/** Where and since when to look for a rollout. */
export interface MirrorPlace {
  /** CODEX_HOME as codex sees it. */
  codexHome: string;
  clock: Clock;
  /** The earliest time codex can have created the thread's file: the turn's start. */
  since: number;
}

/** The incremental reader of one thread's rollout. Reads must not overlap. */
export class RolloutMirror {
  readonly threadId: string;
  readonly #place: MirrorPlace;
  readonly #extractor = new ToolRecordExtractor();
  #path: string | undefined;
  #offset: number;
  #tail: Buffer;
  #lastOrdinal: number | undefined;

  private constructor(
    place: MirrorPlace,
    threadId: string,
    start: { path?: string | undefined; offset: number; tail: Buffer; lastOrdinal?: number },
  ) {
    this.#place = place;
    this.threadId = threadId;
    this.#path = start.path;
    this.#offset = start.offset;
    this.#tail = start.tail;
    this.#lastOrdinal = start.lastOrdinal;
  }

  /** A new thread: everything its rollout will hold is new. */
  static forNewThread(place: MirrorPlace, threadId: string): RolloutMirror {
    return new RolloutMirror(place, threadId, { offset: 0, tail: Buffer.alloc(0) });
  }

  /**
   * A thread about to be resumed. Reading continues at the stored cursor; without one it starts
   * at the end of the file as it is now, so earlier turns are not replayed. Call before codex
   * starts appending.
   */
  static async forResumedThread(
    place: MirrorPlace,
    threadId: string,
    stored: RolloutCursor | undefined,
  ): Promise<RolloutMirror> {
    if (stored !== undefined) {
      return new RolloutMirror(place, threadId, {
        path: stored.path,
        offset: stored.offset,
        tail: Buffer.from(stored.tail, "base64"),
        ...(stored.last_ordinal === undefined ? {} : { lastOrdinal: stored.last_ordinal }),
      });
    }
    const path = await locateRollout(place.codexHome, threadId, {
      deep: true,
      window: { from: place.since, to: place.clock.now() },
    });
    if (path === undefined) return RolloutMirror.forNewThread(place, threadId);
    const end = await endOfLastLine(path);
    return new RolloutMirror(place, threadId, { path, ...end });
  }

  /** The rollout file last read, if found. */
  get path(): string | undefined {
    return this.#path;
  }

  /** The position to persist; undefined until the file has been found. */
  cursor(): RolloutCursor | undefined {
    if (this.#path === undefined) return undefined;
    const cursor: RolloutCursor = {
      path: this.#path,
      offset: this.#offset,
      tail: this.#tail.toString("base64"),
    };
    if (this.#lastOrdinal !== undefined) cursor.last_ordinal = this.#lastOrdinal;
    return cursor;
  }

  /**
   * Reads the complete lines appended since the last read. A last line without its newline is
   * left for the next read. `deep` allows the full search of CODEX_HOME when the file is not where
   * it was, and reading a compressed file (which means decompressing it from its start); shallow
   * reads only look at the remembered path and the directories of the dates since the turn
   * started, and wait for codex to turn a compressed rollout back into plain JSONL, which it does
   * when it appends.
   */
  async read(deep: boolean): Promise<MirrorRead> {
    const { codexHome, clock, since } = this.#place;
    const path = await locateRollout(codexHome, this.threadId, {
      remembered: this.#path,
      deep,
      window: { from: since, to: clock.now() },
    });
    if (path === undefined) return { found: false, events: [] };
    this.#path = path;
    if (!deep && isZstdPath(path)) return { found: true, events: [] };
    const events: CanonicalEvent[] = [];
    const opened = await openContentAt(path, this.#offset, CURSOR_TAIL_BYTES);
    let lines: AsyncGenerator<RawLine, void, undefined>;
    // Lines up to this ordinal were read before the file was rewritten by someone else.
    let replayedThrough: number | undefined;
    if (opened.reachesOffset && opened.before.equals(this.#tail)) {
      lines = rawLines(opened.chunks, this.#offset);
    } else {
      await opened.chunks.return();
      replayedThrough = this.#lastOrdinal ?? Number.POSITIVE_INFINITY;
      events.push(
        warning(
          `rollout ${path} changed before byte ${this.#offset} since it was last read; ` +
            (this.#lastOrdinal === undefined
              ? "its lines carry no ordinals, so tool calls written since then are not reported"
              : `re-reading it after ordinal ${this.#lastOrdinal}`),
        ),
      );
      this.#offset = 0;
      this.#tail = Buffer.alloc(0);
      lines = rawLines(readRolloutContent(path), 0);
    }
    let corrupt = 0;
    let firstCorrupt = 0;
    let withoutOrdinal: string | undefined;
    let context: ContextWindowFill | undefined;
    let rateLimits: RateLimitWindow[] = [];
    let tokenCountDrift: string | undefined;
    for await (const line of lines) {
      if (!line.terminated) break;
      this.#advance(line);
      if (isBlank(line.bytes)) continue;
      const parsed = parseRolloutLine(line.bytes.toString("utf8"));
      if (parsed === undefined) {
        if (corrupt === 0) firstCorrupt = line.start;
        corrupt += 1;
        continue;
      }
      const ordinal = typeof parsed.ordinal === "number" ? parsed.ordinal : undefined;
      if (ordinal === undefined) withoutOrdinal ??= line.bytes.toString("utf8");
      if (replayedThrough !== undefined) {
        if (ordinal === undefined || ordinal <= replayedThrough) continue;
        replayedThrough = undefined;
      }
      if (ordinal !== undefined) this.#lastOrdinal = Math.max(this.#lastOrdinal ?? 0, ordinal);
      events.push(...this.#extractor.eventsOf(parsed));
      const count = tokenCountOf(parsed, { threadId: this.threadId, now: clock.now() });
      if (count === undefined) continue;
      if (count.context !== undefined) context = count.context;
      rateLimits = mergeRateLimits(rateLimits, count.rateLimits);
      if (count.drift) tokenCountDrift ??= line.bytes.toString("utf8");
    }
    if (corrupt > 0) {
      events.push(
        warning(
          `skipped ${corrupt} line(s) of rollout ${path} that are not rollout records ` +
            `(first at byte ${firstCorrupt}); codex skips them too`,
        ),
      );
    }
    return {
      found: true,
      events,
      ...(withoutOrdinal === undefined ? {} : { withoutOrdinal }),
      ...(context === undefined ? {} : { context }),
      ...(rateLimits.length === 0 ? {} : { rateLimits }),
      ...(tokenCountDrift === undefined ? {} : { tokenCountDrift }),
    };
  }

  #advance(line: RawLine): void {
    this.#offset = line.end;
    this.#tail = tailAfterLine(this.#tail, line.bytes, CURSOR_TAIL_BYTES);
  }
}

function warning(message: string): CanonicalEvent {
  return { kind: "notice", notice: "warning", message };
}

function isBlank(bytes: Buffer): boolean {
  return bytes.toString("latin1").trim() === "";
}

/** The offset just after the file's last complete line, and the bytes before it. */
async function endOfLastLine(path: string): Promise<{ offset: number; tail: Buffer }> {
  if (isZstdPath(path)) {
    let offset = 0;
    let tail: Buffer = Buffer.alloc(0);
    for await (const line of rawLines(readRolloutContent(path))) {
      if (!line.terminated) break;
      offset = line.end;
      tail = tailAfterLine(tail, line.bytes, CURSOR_TAIL_BYTES);
    }
    return { offset, tail };
  }
  const handle = await open(path, "r");
  try {
    const size = (await handle.stat()).size;
    const block = 64 * 1024;
    // Walk back block by block to the last "\n".
    for (let end = size; end > 0; end -= block) {
      const start = Math.max(0, end - block);
      const buffer = Buffer.alloc(end - start);
      await handle.read(buffer, 0, buffer.length, start);
      const newline = buffer.lastIndexOf(0x0a);
      if (newline === -1) continue;
      const offset = start + newline + 1;
      const tailStart = Math.max(0, offset - CURSOR_TAIL_BYTES);
      const tail = Buffer.alloc(offset - tailStart);
      await handle.read(tail, 0, tail.length, tailStart);
      return { offset, tail };
    }
    return { offset: 0, tail: Buffer.alloc(0) };
  } finally {
    await handle.close();
  }
}
