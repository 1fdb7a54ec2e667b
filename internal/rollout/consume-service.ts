// Consume for one agent: finds its thread's rollout and rewrites it, never while codex may write
// it. The agent's turn slot is claimed for the rewrite (a turn arriving meanwhile waits for it; a
// running turn makes the consume fail with AGENT_BUSY), codex's writer lock must be free before the
// rewrite and again right before the rename, and consumes of one thread run one at a time.
import type { Logger } from "pino";

import type { Clock } from "../core/clock.js";
import { claimAgentTurn } from "../turn/agent-slots.js";
import { AppError } from "../core/app-error.js";
import type { RolloutCursor, ThreadStore } from "../store/thread-store.js";
import { consumeRollout } from "./consume-rollout.js";
import { locateRollout } from "./rollout-locator.js";
import { threadWriterLock } from "./writer-lock.js";

export interface ConsumeDeps {
  store: ThreadStore;
  /** CODEX_HOME as codex sees it. */
  codexHome: string;
  logger: Logger;
  clock: Clock;
}

/** The Consume answer. */
export interface ConsumeResult {
  rewritten: string[];
  alreadyConsumed: string[];
  notFound: string[];
}

/** Consume refused because the agent has a turn running (gRPC ABORTED). */
export function consumeBusyError(agentId: string): AppError {
  return new AppError(
    "AGENT_BUSY",
    `agent ${JSON.stringify(agentId)} has a turn running; Consume never rewrites a rollout codex ` +
      "may be writing: retry after the turn's turn_end",
  );
}

// Consumes of one thread, chained.
const threadQueues = new Map<string, Promise<unknown>>();

/** Consumes `blockIds` (tool call ids) in the agent's current thread. */
export async function consumeBlocks(
  agentId: string,
  blockIds: readonly string[],
  deps: ConsumeDeps,
): Promise<ConsumeResult> {
  // Brief: a turn (or consume) that starts meanwhile waits for the rewrite instead of failing.
  const claim = await claimAgentTurn(agentId, { brief: true });
  if (claim === undefined) throw consumeBusyError(agentId);
  try {
    const loaded = await deps.store.load(agentId);
    if (loaded.status !== "ok") {
      return { rewritten: [], alreadyConsumed: [], notFound: [...new Set(blockIds)] };
    }
    const { record } = loaded;
    return await serialised(record.thread_id.toLowerCase(), () =>
      consumeInThread(agentId, record.thread_id, record.rollout, blockIds, deps),
    );
  } finally {
    claim.release();
  }
}

async function consumeInThread(
  agentId: string,
  threadId: string,
  cursor: RolloutCursor | undefined,
  blockIds: readonly string[],
  deps: ConsumeDeps,
): Promise<ConsumeResult> {
  const { codexHome, logger, store, clock } = deps;
  const now = clock.now();
  const path = await locateRollout(codexHome, threadId, {
    remembered: cursor?.path,
    deep: true,
    window: { from: now, to: now },
  });
  if (path === undefined) {
    throw new AppError(
      "ROLLOUT_NOT_FOUND",
      `no rollout of thread ${threadId} under ${codexHome}/sessions or archived_sessions`,
    );
  }
  const ensureUnlocked = async (): Promise<void> => {
    const lock = await threadWriterLock(codexHome, threadId);
    if (lock.state === "held") {
      throw new AppError(
        "ROLLOUT_LOCKED",
        `thread ${threadId} is held by another codex process` +
          `${lock.pid === undefined ? "" : ` (pid ${lock.pid})`}; retry once it has exited`,
      );
    }
    if (lock.state === "unknown") logger.debug({ reason: lock.reason }, "writer lock unknown");
  };
  await ensureUnlocked();
  const started = performance.now();
  const outcome = await consumeRollout(path, blockIds, {
    beforeCommit: ensureUnlocked,
    ...(cursor === undefined
      ? {}
      : { track: { offset: cursor.offset, before: Buffer.from(cursor.tail, "base64") } }),
  });
  if (outcome.written && cursor !== undefined && outcome.tracked !== undefined) {
    // The mirror's cursor now points into the rewritten file.
    await store.saveRolloutCursor(agentId, threadId, {
      path,
      offset: outcome.tracked.offset,
      tail: outcome.tracked.before.toString("base64"),
      ...(cursor.last_ordinal === undefined ? {} : { last_ordinal: cursor.last_ordinal }),
    });
  }
  logger.info(
    {
      agent_id: agentId,
      thread_id: threadId,
      path,
      rewritten: outcome.rewritten.length,
      already_consumed: outcome.alreadyConsumed.length,
      not_found: outcome.notFound.length,
      written: outcome.written,
      duration_ms: Math.round(performance.now() - started),
    },
    "consumed tool calls",
  );
  return {
    rewritten: outcome.rewritten,
    alreadyConsumed: outcome.alreadyConsumed,
    notFound: outcome.notFound,
  };
}

function serialised<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = threadQueues.get(key) ?? Promise.resolve();
  const run = previous.then(task, task);
  const settled = run.catch(() => undefined);
  threadQueues.set(key, settled);
  void settled.then(() => {
    if (threadQueues.get(key) === settled) threadQueues.delete(key);
  });
  return run;
}
