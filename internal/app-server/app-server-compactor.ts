// CompactThread for the exec backend: a short-lived `codex app-server` on the agent's thread,
// between turns. It starts with the environment and `-c` overrides the agent's turns get, resumes
// the thread, compacts it, and is closed again (stdin closed, then the group escalation). Aborting
// (shutdown) kills its process group at once.
import { buildChildEnv } from "../codex/child-env.js";
import { AppError } from "../core/app-error.js";
import type { ProcessLedger } from "../proc/process-ledger.js";
import type { ProcessRegistry } from "../proc/process-registry.js";
import type { ProcessScanner } from "../proc/process-scanner.js";
import type { CompactionResult, CompactionRun, ThreadCompactor } from "../turn/thread-compactor.js";
import { AppServerClient } from "./app-server-client.js";
import { isAppServerError, JSON_RPC_ERRORS } from "./app-server-error.js";
import { CompactionTurnError, compactThreadOn } from "./thread-compaction.js";

export interface AppServerCompactorOptions {
  /** The environment codex inherits. */
  env: NodeJS.ProcessEnv;
  /** SIGINT → SIGTERM to the group. */
  interruptGraceMs: number;
  /** SIGTERM → SIGKILL to the group. */
  terminateGraceMs: number;
  processes: ProcessRegistry;
  scanner: ProcessScanner;
  /** Records the server in the state dir, for the boot reaper. */
  ledger?: ProcessLedger | undefined;
  /** Bound on one compaction (the model request included); the turn timeout is a fair choice. */
  timeoutMs: number;
  /** The plugin's name and version, for `initialize.clientInfo`. */
  clientInfo: { name: string; version: string };
}

/** Compacts threads with a codex app-server started for each compaction. */
export class AppServerCompactor implements ThreadCompactor {
  readonly #options: AppServerCompactorOptions;

  constructor(options: AppServerCompactorOptions) {
    this.#options = options;
  }

  async compact(run: CompactionRun, signal: AbortSignal): Promise<CompactionResult> {
    const options = this.#options;
    const logger = run.logger.child({ thread_id: run.threadId });
    let client: AppServerClient | undefined;
    try {
      client = await AppServerClient.start(
        {
          codexPath: run.codex.path,
          configOverrides: run.configOverrides,
          cwd: run.cwd,
          env: buildChildEnv(options.env, {
            codexHome: run.codexHome,
            sqliteHome: run.sqliteHome,
            helperPathDir: run.codex.helperPathDir,
            set: run.env.set,
            unset: run.env.unset,
          }),
          interruptGraceMs: options.interruptGraceMs,
          terminateGraceMs: options.terminateGraceMs,
          processes: options.processes,
          scanner: options.scanner,
          accounting: options.ledger?.track({ agentId: run.agentId }),
          logger,
          clientInfo: options.clientInfo,
        },
        signal,
      );
      logger.info({ pid: client.pid }, "compacting the thread on a codex app-server");
      const result = await compactThreadOn(client, {
        threadId: run.threadId,
        model: run.cliModel,
        signal,
        timeoutMs: options.timeoutMs,
      });
      logger.info(
        {
          tokens_before: result.tokensBefore,
          tokens_after: result.tokensAfter,
          duration_ms: result.durationMs,
        },
        "thread compacted",
      );
      return result;
    } catch (error) {
      throw toAppError(error, run.threadId, signal);
    } finally {
      if (client !== undefined) {
        // A stopped compaction kills the group now; a finished one lets the server exit by itself.
        if (signal.aborted) await client.kill("compaction cancelled", options.terminateGraceMs);
        else await client.close("compaction finished");
      }
    }
  }
}

// A failed compaction as a call error: shutdown, a thread codex cannot load, or codex failing.
function toAppError(error: unknown, threadId: string, signal: AbortSignal): AppError {
  if (signal.aborted) {
    const reason = (signal.reason as { message?: unknown } | undefined)?.message;
    return new AppError(
      "SHUTTING_DOWN",
      `compaction of thread ${threadId} was cancelled${typeof reason === "string" ? `: ${reason}` : ""}`,
      { cause: error },
    );
  }
  if (error instanceof CompactionTurnError) {
    return new AppError("COMPACTION_FAILED", error.message, { cause: error });
  }
  if (isAppServerError(error)) {
    // An app-server without the method (an older codex): refused as a precondition, not a failure.
    if (error.code === "RPC_ERROR" && error.rpcCode === JSON_RPC_ERRORS.methodNotFound) {
      return new AppError(
        "CODEX_UNSUPPORTED",
        `this codex cannot compact a thread through its app-server: ${error.message}`,
        { cause: error },
      );
    }
    // A codex without the subcommand exits at once with clap's usage error.
    if (
      error.code === "SERVER_EXITED" &&
      /unrecognized subcommand|unexpected argument/i.test(error.message)
    ) {
      return new AppError(
        "CODEX_UNSUPPORTED",
        `this codex has no app-server to compact a thread with: ${error.message}`,
        { cause: error },
      );
    }
    // thread/resume of a thread whose rollout is gone: the same condition as a lost thread.
    if (error.code === "RPC_ERROR" && /no rollout found|not found/i.test(error.message)) {
      return new AppError(
        "THREAD_NOT_FOUND",
        `codex cannot load thread ${threadId}: ${error.message}`,
        {
          cause: error,
        },
      );
    }
    return new AppError("COMPACTION_FAILED", `codex app-server: ${error.message}`, {
      cause: error,
    });
  }
  return AppError.from(error);
}
