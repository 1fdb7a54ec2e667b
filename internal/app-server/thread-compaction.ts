// Manual compaction of one thread on a running app-server: `thread/resume`, `thread/compact/start`,
// then wait for the compaction turn to end. Observed with codex 0.148.0, 0.169.0 and 0.171.0 (the
// same sequence): the resume is followed by `thread/tokenUsage/updated` with the usage restored from
// the rollout; compact/start answers `{}` at once; then `turn/started`, `item/started`
// {type: "contextCompaction"}, token updates (the last one carries codex's estimate of the
// compacted history as `last.totalTokens`), `item/completed` {contextCompaction} and
// `turn/completed`. For a provider that is not OpenAI's, codex compacts locally: one ordinary
// /responses request whose last input is its summarisation prompt (codex-rs/core/src/compact.rs).
import type { Usage } from "../core/usage.js";
import type { CompactionResult } from "../turn/thread-compactor.js";
import type { AppServerClient } from "./app-server-client.js";
import { AppServerError } from "./app-server-error.js";
import type { ThreadTokenUsage } from "./protocol/v2/ThreadTokenUsage.js";
import type { TokenUsageBreakdown } from "./protocol/v2/TokenUsageBreakdown.js";
import type { ServerNotificationMessage } from "./protocol-methods.js";

export interface ThreadCompactionOptions {
  threadId: string;
  /** The model for the thread (and so for the summarisation request); undefined keeps codex's. */
  model?: string | undefined;
  signal: AbortSignal;
  /** Bound on the whole compaction; undefined waits as long as codex works. */
  timeoutMs?: number | undefined;
}

/** The compaction turn ended without compacting; the message is codex's reason. */
export class CompactionTurnError extends Error {
  override name = "CompactionTurnError";
}

interface Watch {
  /** The thread's usage as loaded: the last update before the compaction item started. */
  before: ThreadTokenUsage | undefined;
  /** The last update after it started. */
  after: ThreadTokenUsage | undefined;
  itemStarted: boolean;
  turnId: string | undefined;
  compacted: boolean;
  errorMessage: string | undefined;
}

/** Compacts `threadId` on `client`; rejects with an AppServerError or a CompactionTurnError. */
export async function compactThreadOn(
  client: AppServerClient,
  options: ThreadCompactionOptions,
): Promise<CompactionResult> {
  const { threadId, signal } = options;
  const started = performance.now();
  const watch: Watch = {
    before: undefined,
    after: undefined,
    itemStarted: false,
    turnId: undefined,
    compacted: false,
    errorMessage: undefined,
  };
  let finish!: (error: Error | undefined) => void;
  const ended = new Promise<void>((resolve, reject) => {
    finish = (error) => (error === undefined ? resolve() : reject(error));
  });
  // Handled here too: it may settle (abort, exit) while a request is still awaited.
  ended.catch(() => undefined);
  const unsubscribe = client.onNotification((message) => observe(message, threadId, watch, finish));
  const onAbort = (): void =>
    finish(
      new AppServerError("ABORTED", `compaction of ${threadId} stopped`, { cause: signal.reason }),
    );
  signal.addEventListener("abort", onAbort, { once: true });
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(
          () =>
            finish(
              new AppServerError(
                "TIMEOUT",
                `compaction did not finish within ${options.timeoutMs} ms`,
              ),
            ),
          options.timeoutMs,
        );
  // The server's exit rejects the pending calls; while only notifications are awaited, it must
  // end the wait too.
  void client.exited.then(() =>
    finish(new AppServerError("SERVER_EXITED", "codex app-server exited during the compaction")),
  );
  try {
    if (signal.aborted) onAbort();
    const call = { signal, timeoutMs: options.timeoutMs };
    const resume = {
      threadId,
      ...(options.model === undefined ? {} : { model: options.model }),
    };
    // Full-history hydration is deprecated for paginated threads (0.169.0 sends a deprecationNotice)
    // and makes the answer as large as the thread; `excludeTurns` avoids it, but codex 0.148.0
    // refuses it without experimentalApi. So it is tried first, and dropped when refused.
    await client
      .request("thread/resume", { ...resume, excludeTurns: true }, call)
      .catch((error: unknown) => {
        if (!refusesExcludeTurns(error)) throw error;
        return client.request("thread/resume", resume, call);
      });
    await client.request("thread/compact/start", { threadId }, call);
    await ended;
  } finally {
    unsubscribe();
    signal.removeEventListener("abort", onAbort);
    clearTimeout(timer);
  }
  const { before } = watch;
  const after = watch.after ?? before;
  return {
    threadId,
    tokensBefore: before?.last.totalTokens ?? 0,
    tokensAfter: after?.last.totalTokens ?? 0,
    modelContextWindow: after?.modelContextWindow ?? before?.modelContextWindow ?? undefined,
    usage: spent(before?.total, after?.total),
    durationMs: Math.round(performance.now() - started),
  };
}

// codex 0.148.0: "thread/resume.excludeTurns requires experimentalApi capability".
function refusesExcludeTurns(error: unknown): boolean {
  return (
    error instanceof AppServerError &&
    error.code === "RPC_ERROR" &&
    error.message.includes("excludeTurns")
  );
}

// Follows the compaction turn of `threadId`; calls `finish` once it has ended.
function observe(
  message: ServerNotificationMessage,
  threadId: string,
  watch: Watch,
  finish: (error: Error | undefined) => void,
): void {
  switch (message.method) {
    case "thread/tokenUsage/updated":
      if (message.params.threadId !== threadId) return;
      if (watch.itemStarted) watch.after = message.params.tokenUsage;
      else watch.before = message.params.tokenUsage;
      return;
    case "turn/started":
      if (message.params.threadId === threadId) watch.turnId ??= message.params.turn.id;
      return;
    case "item/started":
      if (
        message.params.threadId === threadId &&
        message.params.item.type === "contextCompaction"
      ) {
        watch.itemStarted = true;
      }
      return;
    case "item/completed":
      if (
        message.params.threadId === threadId &&
        message.params.item.type === "contextCompaction"
      ) {
        watch.compacted = true;
      }
      return;
    case "error":
      if (message.params.threadId === threadId && !message.params.willRetry) {
        watch.errorMessage = message.params.error.message;
      }
      return;
    case "turn/completed": {
      const { turn } = message.params;
      if (message.params.threadId !== threadId) return;
      if (watch.turnId !== undefined && turn.id !== watch.turnId) return;
      if (turn.status === "completed" && watch.compacted) {
        finish(undefined);
        return;
      }
      const why = turn.error?.message ?? watch.errorMessage ?? "codex did not compact the thread";
      finish(new CompactionTurnError(`compaction turn ${turn.status}: ${why}`));
      return;
    }
    default:
      return;
  }
}

// The thread total's growth during the compaction, field by field (never negative).
function spent(
  before: TokenUsageBreakdown | undefined,
  after: TokenUsageBreakdown | undefined,
): Usage {
  const delta = (field: keyof TokenUsageBreakdown): number =>
    Math.max(0, (after?.[field] ?? 0) - (before?.[field] ?? 0));
  return {
    input_tokens: delta("inputTokens"),
    cached_input_tokens: delta("cachedInputTokens"),
    cache_write_input_tokens: delta("cacheWriteInputTokens"),
    output_tokens: delta("outputTokens"),
    reasoning_output_tokens: delta("reasoningOutputTokens"),
  };
}
