// The thread side of one turn: which thread to resume, what codex announced, the usage baseline,
// and keeping the agent's thread record right: stored before the first item is forwarded, confirmed
// when a turn ends, forgotten when codex can no longer resume it. A failed write is reported once
// and the turn goes on: the file is replaced atomically or not at all.
import type { Logger } from "pino";

import type { ThreadLostPolicy } from "../config/config-schema.js";
import type { AgentId } from "../core/agent-id.js";
import type { CanonicalEvent } from "../core/canonical-event.js";
import { isThreadId } from "../core/thread-id.js";
import { turnError } from "../core/turn-error.js";
import { computeUsageDelta, emptyUsage, type Usage } from "../core/usage.js";
import { findRolloutFile } from "../rollout/rollout-locator.js";
import type { ThreadRecord, ThreadStore } from "../store/thread-store.js";
import type { UsageStore } from "../store/usage-store.js";

export interface ThreadSessionOptions {
  agentId: AgentId;
  /** CODEX_HOME as codex sees it: where the thread's rollout is. */
  codexHome: string;
  store: ThreadStore;
  /** Per-agent usage totals (GetUsage), updated after every completed turn. */
  usage?: UsageStore | undefined;
  policy: ThreadLostPolicy;
  logger: Logger;
}

/** One turn's view of its agent's codex thread. */
export class ThreadSession {
  readonly #options: ThreadSessionOptions;
  #resumeId: string | undefined;
  #threadId = "";
  #resumed = false;
  #announced = false;
  #completed = false;
  #baseline: Usage = emptyUsage();
  #storeFailure: unknown;
  #storeFailureReported = false;

  constructor(options: ThreadSessionOptions) {
    this.#options = options;
  }

  /** The thread to resume, if any. */
  get resumeId(): string | undefined {
    return this.#resumeId;
  }

  /** The thread codex runs in; "" until it announced one. */
  get threadId(): string {
    return this.#threadId;
  }

  /** True when codex resumed the thread that was asked for. */
  get resumed(): boolean {
    return this.#resumed;
  }

  /** True once codex announced a thread in this turn. */
  get announced(): boolean {
    return this.#announced;
  }

  /**
   * Loads the agent's thread record and decides what to resume; returns the record to resume, if
   * any. A corrupt record is moved aside and a new thread starts, with a warning.
   */
  async *prepare(): AsyncGenerator<CanonicalEvent, ThreadRecord | undefined, undefined> {
    const { store, agentId, codexHome, logger } = this.#options;
    const loaded = await store.load(agentId);
    if (loaded.status === "corrupt") {
      const movedTo = await store.quarantineCorrupt(agentId);
      logger.warn({ path: loaded.path, reason: loaded.reason, movedTo }, "corrupt thread state");
      yield warning(
        `stored thread state ${loaded.path} is corrupt (${loaded.reason}); moved it to ${movedTo ?? "(gone)"} ` +
          "and starting a new thread",
      );
      return undefined;
    }
    if (loaded.status === "none") return undefined;
    const { record } = loaded;
    if (!isThreadId(record.thread_id)) {
      // Never resumed, nor put in a path: a hand-edited or foreign file.
      const movedTo = await store.quarantineCorrupt(agentId);
      logger.warn({ thread_id: record.thread_id, movedTo }, "stored thread id is not a codex id");
      yield warning(
        `stored thread id ${JSON.stringify(record.thread_id.slice(0, 80))} is not a codex thread ` +
          `id (a UUID); moved the state to ${movedTo ?? "(gone)"} and starting a new thread`,
      );
      return undefined;
    }
    // The thread's first turn never finished, so codex may never have written its rollout;
    // resuming it would fail with "no rollout found".
    if (!record.confirmed && (await findRolloutFile(codexHome, record.thread_id)) === undefined) {
      yield warning(
        `stored thread ${record.thread_id} never finished a turn and has no rollout in ${codexHome}; ` +
          "starting a new thread",
      );
      return undefined;
    }
    this.#resumeId = record.thread_id;
    this.#baseline = { ...record.usage_baseline };
    return record;
  }

  /**
   * Codex announced `threadId`: the asked-for thread, or a new one (stored at once). Returns the
   * reason when codex started another thread than the stored one and the policy is to fail the
   * turn: codex must then be stopped.
   */
  async *threadStarted(
    threadId: string,
  ): AsyncGenerator<CanonicalEvent, string | undefined, undefined> {
    const { logger, policy } = this.#options;
    if (this.#announced) {
      yield warning(`codex announced a second thread ${threadId}; keeping ${this.#threadId}`);
      return undefined;
    }
    this.#announced = true;
    const requested = this.#resumeId;
    if (requested !== undefined && threadId.toLowerCase() === requested.toLowerCase()) {
      this.#threadId = requested;
      this.#resumed = true;
      return undefined;
    }
    if (requested !== undefined) {
      // codex resolves unknown names to a brand-new thread and exits 0; the old context is gone.
      const fail = policy === "fail";
      const reason =
        `asked codex to resume thread ${requested} but it started a new thread ${threadId}; ` +
        "the previous conversation context is not available";
      logger.warn({ thread_id: requested, new_thread_id: threadId }, "thread lost");
      yield {
        kind: "thread_lost",
        threadId: requested,
        reason,
        action: fail ? "failed" : "started_new_thread",
      };
      if (fail) {
        await this.forget(requested);
        return reason;
      }
    }
    this.#threadId = threadId;
    this.#baseline = emptyUsage();
    // Stored before any item is forwarded, so a crash mid-turn still leaves the id on disk.
    if (await this.#persist(false))
      yield { kind: "notice", notice: "thread_stored", message: threadId };
    return undefined;
  }

  /**
   * Codex completed the turn with the thread's cumulative usage: reports and returns the turn's
   * share, and stores the new baseline.
   */
  async *turnCompleted(cumulative: Usage): AsyncGenerator<CanonicalEvent, Usage, undefined> {
    const { logger } = this.#options;
    const delta = computeUsageDelta(cumulative, this.#baseline);
    if (delta.baselineReset) {
      logger.warn(
        { cumulative, baseline: this.#baseline },
        "codex usage went below the stored baseline",
      );
      yield warning(
        "codex's cumulative usage is below the stored baseline; reporting the whole total for this turn",
      );
    }
    this.#completed = true;
    this.#baseline = { ...cumulative };
    await this.#persist(true);
    await this.#countUsage(cumulative);
    yield { kind: "usage", turn: delta.turn, thread: { ...cumulative } };
    return delta.turn;
  }

  /** Codex failed the turn: the thread exists and is confirmed. */
  async turnFailed(): Promise<void> {
    await this.#persist(true);
  }

  /**
   * Codex could not resume the stored thread ("no rollout found", before announcing any): says
   * so with a thread_lost event; with `retry` (the policy allows a new thread and the turn is not
   * cancelled) forgets it so that the next run starts a new thread, and returns true.
   */
  async *resumeFailed(
    reason: string,
    retry: boolean,
  ): AsyncGenerator<CanonicalEvent, boolean, undefined> {
    const requested = this.#resumeId;
    if (requested === undefined) return false;
    this.#options.logger.warn({ thread_id: requested, reason, retry }, "thread lost");
    yield {
      kind: "thread_lost",
      threadId: requested,
      reason,
      action: retry ? "started_new_thread" : "failed",
    };
    if (!retry) return false;
    await this.forget(requested);
    this.#resumeId = undefined;
    this.#baseline = emptyUsage();
    return true;
  }

  /**
   * A new thread whose first turn never finished may have no rollout; keeping its id would make
   * every later turn fail with "no rollout found".
   */
  async forgetUnresumable(failed: boolean): Promise<void> {
    if (this.#resumed || this.#threadId === "" || this.#completed || failed) return;
    const { codexHome, logger } = this.#options;
    if ((await findRolloutFile(codexHome, this.#threadId)) !== undefined) return;
    logger.info({ thread_id: this.#threadId }, "forgetting a thread codex never persisted");
    await this.forget(this.#threadId);
  }

  /** Forgets `threadId` if it is still the agent's stored thread. */
  async forget(threadId: string): Promise<void> {
    const { store, agentId, logger } = this.#options;
    try {
      const current = await store.load(agentId);
      if (current.status === "ok" && current.record.thread_id === threadId) {
        await store.reset(agentId);
      }
    } catch (error) {
      logger.error({ err: error, thread_id: threadId }, "could not forget the missing thread");
    }
  }

  /** A failed thread-state write as a typed error, once per turn. */
  *reportStoreFailure(): Generator<CanonicalEvent, void, undefined> {
    if (this.#storeFailure === undefined || this.#storeFailureReported) return;
    this.#storeFailureReported = true;
    const failure = this.#storeFailure as { message?: unknown; cause?: { message?: unknown } };
    const detail = [failure.message, failure.cause?.message]
      .filter((part) => typeof part === "string" && part !== "")
      .join(": ");
    yield {
      kind: "error",
      error: turnError(
        "THREAD_STORE_FAILED",
        `could not save the state of thread ${this.#threadId} (${detail}); the stored state is ` +
          "unchanged, so the next turn may not resume this thread or may count this turn's usage again",
      ),
    };
  }

  async #persist(confirmed: boolean): Promise<boolean> {
    if (this.#threadId === "") return false;
    const { store, agentId, logger } = this.#options;
    try {
      await store.save(agentId, {
        thread_id: this.#threadId,
        usage_baseline: this.#baseline,
        confirmed,
      });
      return true;
    } catch (error) {
      logger.error({ err: error, thread_id: this.#threadId }, "could not store the thread state");
      this.#storeFailure ??= error;
      return false;
    }
  }

  /** Adds the turn to the agent's totals (GetUsage); a failure is logged and the turn goes on. */
  async #countUsage(cumulative: Usage): Promise<void> {
    const { usage, agentId, logger } = this.#options;
    if (usage === undefined || this.#threadId === "") return;
    try {
      await usage.recordTurn(agentId, this.#threadId, cumulative);
    } catch (error) {
      logger.error({ err: error, thread_id: this.#threadId }, "could not count the turn's usage");
    }
  }
}

function warning(message: string): CanonicalEvent {
  return { kind: "notice", notice: "warning", message };
}
