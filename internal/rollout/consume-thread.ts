// Consume in one thread: finds the thread's rollout, rewrites the consumed tool calls in it, and
// moves the agent's stored cursor along. Never while codex may write the file: the caller holds the
// agent's slot, and codex's writer lock must be free before the rewrite and right before the rename.
import { performance } from "node:perf_hooks";

import type { Logger } from "pino";

import type { AgentId } from "../core/agent-id.js";
import { AppError } from "../core/app-error.js";
import type { Clock } from "../core/clock.js";
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

/**
 * Consumes `blockIds` (tool call ids) in the rollout of `threadId`. The caller holds the agent's
 * slot, so no turn of the agent runs; codex's writer lock must still be free before the rewrite
 * and again right before the rename (another codex process may have the thread open).
 */
export async function consumeThread(
  agentId: AgentId,
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
