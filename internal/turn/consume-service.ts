// Consume for one agent: holds the agent's slot briefly while its thread's rollout is rewritten (a
// turn arriving meanwhile waits for it; a running turn makes the consume fail with AGENT_BUSY), and
// rewrites of one thread run one at a time.
import type { Logger } from "pino";

import type { AgentId } from "../core/agent-id.js";
import { AppError } from "../core/app-error.js";
import type { Clock } from "../core/clock.js";
import { isThreadId } from "../core/thread-id.js";
import { type ConsumeResult, consumeThread } from "../rollout/consume-thread.js";
import { KeyedQueue } from "../store/keyed-queue.js";
import type { ThreadStore } from "../store/thread-store.js";
import type { AgentSlots } from "./agent-slots.js";

export interface ConsumeServiceOptions {
  slots: AgentSlots;
  store: ThreadStore;
  logger: Logger;
  clock: Clock;
  /** Frees the thread from a codex that keeps it loaded between turns (CodexBackend). */
  releaseThread?: ((threadId: string) => Promise<void>) | undefined;
}

/** Consume refused because the agent has a turn running (gRPC ABORTED). */
export function consumeBusyError(agentId: string): AppError {
  return new AppError(
    "AGENT_BUSY",
    `agent ${JSON.stringify(agentId)} has a turn running; Consume never rewrites a rollout codex ` +
      "may be writing: retry after the turn's turn_end",
  );
}

/** Rewrites consumed tool calls in agents' threads. */
export class ConsumeService {
  readonly #options: ConsumeServiceOptions;
  readonly #threads = new KeyedQueue();

  constructor(options: ConsumeServiceOptions) {
    this.#options = options;
  }

  /** Consumes `blockIds` (tool call ids) in the agent's current thread, in `codexHome`. */
  async consume(
    agentId: AgentId,
    codexHome: string,
    blockIds: readonly string[],
  ): Promise<ConsumeResult> {
    const { slots, store, logger, clock } = this.#options;
    const slot = await slots.claimBrief(agentId, () => consumeBusyError(agentId));
    try {
      const loaded = await store.load(agentId);
      if (loaded.status !== "ok" || !isThreadId(loaded.record.thread_id)) {
        return { rewritten: [], alreadyConsumed: [], notFound: [...new Set(blockIds)] };
      }
      const { record } = loaded;
      return await this.#threads.run(record.thread_id.toLowerCase(), async () => {
        // A warm codex app-server holds the thread's writer lock and its history in memory.
        await this.#options.releaseThread?.(record.thread_id);
        return consumeThread(agentId, record.thread_id, record.rollout, blockIds, {
          store,
          codexHome,
          logger,
          clock,
        });
      });
    } finally {
      slot.release();
    }
  }
}
