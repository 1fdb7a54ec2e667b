// The rollout mirror as one turn uses it: prepared before codex starts, read after each batch of
// codex output (tool calls reach the host while the turn runs), read once more after codex exits,
// and its cursor persisted with the agent's thread, the rate limits codex recorded with the
// agent's usage. It never throws: a rollout that is missing or unreadable becomes a typed error
// event, and the turn goes on.
import { performance } from "node:perf_hooks";

import type { Logger } from "pino";

import type { AgentId } from "../core/agent-id.js";
import type { CanonicalEvent } from "../core/canonical-event.js";
import type { Clock } from "../core/clock.js";
import type { ContextWindowFill } from "../core/context-window.js";
import { mergeRateLimits, type RateLimitWindow } from "../core/rate-limits.js";
import { type TurnError, turnError } from "../core/turn-error.js";
import { type MirrorPlace, type MirrorRead, RolloutMirror } from "../rollout/rollout-mirror.js";
import type { ThreadRecord, ThreadStore } from "../store/thread-store.js";
import type { UsageStore } from "../store/usage-store.js";
import type { DriftReport } from "./drift-report.js";

export interface TurnRolloutOptions {
  /** CODEX_HOME as codex sees it. */
  codexHome: string;
  store: ThreadStore;
  /** Where the rate limits the turn saw are kept (GetUsage). */
  usage?: UsageStore | undefined;
  agentId: AgentId;
  logger: Logger;
  clock: Clock;
  /** The turn's drift notices (rollout lines without an ordinal). */
  drift: DriftReport;
}

/** One turn's view of its thread's rollout. */
export class TurnRollout {
  readonly #options: TurnRolloutOptions;
  /** Where the thread's file can appear: it is created after the turn started. */
  readonly #place: MirrorPlace;
  #mirror: RolloutMirror | undefined;
  /** Set when the rollout could not be prepared; reported once at the end. */
  #unavailable: TurnError | undefined;
  #unavailableThread: string | undefined;
  /** Until the file is found, searches back off (each is a few directory reads). */
  #searchDelayMs = 0;
  #nextSearchAt = 0;
  /** The last context-window fill codex recorded during the turn. */
  #context: ContextWindowFill | undefined;
  /** The rate-limit windows codex recorded during the turn, not yet stored. */
  #rateLimits: RateLimitWindow[] = [];

  constructor(options: TurnRolloutOptions) {
    this.#options = options;
    this.#place = {
      codexHome: options.codexHome,
      clock: options.clock,
      since: options.clock.now(),
    };
  }

  /** Before codex resumes `record`'s thread: positions the mirror at the stored cursor. */
  async prepareResume(record: ThreadRecord): Promise<void> {
    const { logger } = this.#options;
    try {
      this.#mirror = await RolloutMirror.forResumedThread(
        this.#place,
        record.thread_id,
        record.rollout,
      );
    } catch (error) {
      logger.warn({ err: error, thread_id: record.thread_id }, "could not prepare the rollout");
      this.#unavailableThread = record.thread_id;
      this.#unavailable = rolloutError(
        "ROLLOUT_CORRUPT",
        `could not read the rollout of thread ${record.thread_id}: ${messageOf(error)}`,
      );
    }
  }

  /** codex announced its thread; a thread other than the prepared one is mirrored from its start. */
  threadStarted(threadId: string): void {
    const same = (id: string | undefined): boolean => id?.toLowerCase() === threadId.toLowerCase();
    if (same(this.#mirror?.threadId) || same(this.#unavailableThread)) return;
    this.#unavailable = undefined;
    this.#mirror = RolloutMirror.forNewThread(this.#place, threadId);
    this.#searchDelayMs = 0;
    this.#nextSearchAt = 0;
  }

  /** The tool events appended since the last read; quiet about a file that is not there yet. */
  async *poll(): AsyncGenerator<CanonicalEvent, void, undefined> {
    const mirror = this.#mirror;
    if (mirror === undefined || this.#unavailable !== undefined) return;
    if (mirror.path === undefined) {
      // Not written yet, or never (a flood of output from a run without a rollout searched once
      // per read of stdout): look again after 25, 50, … at most 400 ms.
      const now = performance.now();
      if (now < this.#nextSearchAt) return;
      this.#searchDelayMs = Math.min(Math.max(this.#searchDelayMs * 2, 25), 400);
      this.#nextSearchAt = now + this.#searchDelayMs;
    }
    try {
      yield* this.#events(await mirror.read(false));
    } catch (error) {
      // Retried, and reported if it persists, by finish().
      this.#options.logger.debug({ err: error, path: mirror.path }, "rollout read failed");
    }
  }

  /** The thread's context-window fill after the turn's last model request, if codex recorded it. */
  get contextWindow(): ContextWindowFill | undefined {
    return this.#context;
  }

  // A read's events, and drift notices for lines without an ordinal or odd token counts; keeps
  // the read's token counts.
  #events(read: MirrorRead): CanonicalEvent[] {
    const { drift } = this.#options;
    if (read.context !== undefined) this.#context = read.context;
    this.#rateLimits = mergeRateLimits(this.#rateLimits, read.rateLimits ?? []);
    return [
      read.withoutOrdinal === undefined
        ? undefined
        : drift.notice("rollout_ordinal_missing", read.withoutOrdinal),
      read.tokenCountDrift === undefined
        ? undefined
        : drift.notice("token_count_shape", read.tokenCountDrift),
      ...read.events,
    ].filter(notUndefined);
  }

  // Keeps the rate limits seen for GetUsage; a failure is logged and the turn goes on.
  async #storeRateLimits(): Promise<void> {
    const { usage, agentId, logger } = this.#options;
    if (usage === undefined || this.#rateLimits.length === 0) return;
    try {
      await usage.recordRateLimits(agentId, this.#rateLimits);
      this.#rateLimits = [];
    } catch (error) {
      logger.error({ err: error }, "could not store the rate limits");
    }
  }

  /**
   * After codex exited: reads to the end of the file and stores the cursor. `expectRollout` says
   * codex must have written the rollout (a completed or resumed turn); only then is a missing file
   * an error. Then stores the rate limits the turn saw.
   */
  async *finish(expectRollout: boolean): AsyncGenerator<CanonicalEvent, void, undefined> {
    try {
      yield* this.#finishReading(expectRollout);
    } finally {
      await this.#storeRateLimits();
    }
  }

  async *#finishReading(expectRollout: boolean): AsyncGenerator<CanonicalEvent, void, undefined> {
    const { codexHome, logger, store, agentId } = this.#options;
    if (this.#unavailable !== undefined) {
      yield { kind: "error", error: this.#unavailable };
      return;
    }
    const mirror = this.#mirror;
    if (mirror === undefined) return;
    let found: boolean;
    try {
      const read = await mirror.read(true);
      found = read.found;
      yield* this.#events(read);
    } catch (error) {
      logger.warn({ err: error, path: mirror.path }, "rollout read failed");
      const missing = isErrno(error, "ENOENT") || isErrno(error, "EACCES");
      yield {
        kind: "error",
        error: rolloutError(
          missing ? "ROLLOUT_NOT_FOUND" : "ROLLOUT_CORRUPT",
          `could not read rollout ${mirror.path ?? "(unknown)"} of thread ${mirror.threadId}: ` +
            `${messageOf(error)}; this turn's tool calls are reported without codex's call ids`,
        ),
      };
      return;
    }
    if (!found) {
      if (expectRollout) {
        yield {
          kind: "error",
          error: rolloutError(
            "ROLLOUT_NOT_FOUND",
            `no rollout of thread ${mirror.threadId} under ${codexHome}/sessions or ` +
              "archived_sessions; this turn's tool calls are reported without codex's call ids",
          ),
        };
      }
      return;
    }
    const cursor = mirror.cursor();
    if (cursor === undefined) return;
    try {
      await store.saveRolloutCursor(agentId, mirror.threadId, cursor);
    } catch (error) {
      // The next turn re-reads from the old cursor: calls may repeat, none is lost.
      logger.error({ err: error }, "could not store the rollout cursor");
    }
  }
}

function notUndefined<T>(value: T | undefined): value is T {
  return value !== undefined;
}

function rolloutError(code: "ROLLOUT_NOT_FOUND" | "ROLLOUT_CORRUPT", message: string): TurnError {
  return turnError(code, message);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === code;
}
