// The seam between the turn engine and the ways codex can be driven. A backend turns one planned
// codex run and an AbortSignal into batches of events; the engine owns everything around it: the
// agent's slot, the thread store and usage, the rollout mirror, host tools, bounds and the outcome.
import type { Logger } from "pino";

import type { CodexFeature } from "../codex/codex-capabilities.js";
import type { CanonicalEvent, SandboxMode } from "../core/canonical-event.js";
import type { StreamErrorCode, TurnError } from "../core/turn-error.js";
import type { Usage } from "../core/usage.js";
import type { McpServerRegistration } from "../mcp/mcp-registration.js";
import type { DriftKind } from "./drift-report.js";

/** One codex run of a turn, planned and prepared: everything a backend needs to start codex. */
export interface CodexRun {
  agentId: string;
  /** The codex executable, and the directory of its helper binaries when it has one. */
  codex: {
    path: string;
    helperPathDir?: string | undefined;
    /** The gated features this codex has (codex-capabilities.ts); [] when its version is unknown. */
    features: readonly CodexFeature[];
  };
  prompt: string;
  /** Where codex runs: the workspace, or its place in the agent's worktree. */
  cwd: string;
  /** CODEX_HOME for codex, when the plugin sets one. */
  codexHome: string | undefined;
  /** CODEX_SQLITE_HOME for codex (per-agent homes keep their own databases). */
  sqliteHome: string | undefined;
  sandbox: SandboxMode;
  /** workspace-write only: extra writable directories and network access. */
  writableDirs: readonly string[];
  networkAccess: boolean | undefined;
  /** The codex --model value; undefined keeps codex's default. */
  cliModel: string | undefined;
  /** `key=value` config overrides, in order (later wins). */
  configOverrides: readonly string[];
  /** Image files attached to the prompt, in order. */
  images: readonly string[];
  /** The file holding the final message's JSON Schema. */
  outputSchemaPath: string | undefined;
  /** Resume this thread; undefined starts a new one. */
  resumeThreadId: string | undefined;
  /** MCP servers for this run only (the host-tool bridge). */
  mcpServers: readonly McpServerRegistration[];
  /** Environment changes for the model provider: keys to set, variables to remove. */
  env: { set: Readonly<Record<string, string>>; unset: readonly string[] };
  logger: Logger;
}

/** Facts about the turn that the engine acts on, besides the events it forwards. */
export type TurnFact =
  /** Codex announced the thread it runs in. */
  | { kind: "thread_started"; threadId: string }
  /** Codex finished the turn; usage is the thread's cumulative figure. */
  | { kind: "turn_completed"; usage: Usage }
  | { kind: "turn_failed"; error: TurnError }
  /** Codex printed something this plugin does not understand (the line, or part of it). */
  | { kind: "drift"; drift: DriftKind; sample: string };

/** What a backend reports: canonical events to forward, and facts. */
export type BackendEvent = CanonicalEvent | TurnFact;

/** Events that became ready together, in order. */
export interface BackendBatch {
  readonly events: readonly BackendEvent[];
  /** True when nothing more is buffered: codex is quiet for now (a moment to read the rollout). */
  readonly caughtUp: boolean;
}

/** How a codex run ended. */
export interface BackendExit {
  /** undefined when codex died from a signal or never started. */
  exitCode: number | undefined;
  signal: string | undefined;
  /** The end of codex's stderr. */
  stderrTail: string;
  /** Set when codex could not be started. */
  spawnError: { code: string; message: string } | undefined;
  durationMs: number;
  /** The last fatal error codex reported outside a terminal event: why it ended without one. */
  fatalMessage: string | undefined;
  /** Codex's last retry notice that no progress followed (e.g. "waiting for network"). */
  retryMessage: string | undefined;
  /**
   * The run ended because something outside it broke (the app-server running it died): a crashed
   * turn with this code, unless codex had reported its end or the plugin had stopped it.
   */
  crash?: { code: StreamErrorCode; message: string } | undefined;
  /** The backend refused the run before codex did anything: a failed turn with this error. */
  refusal?: TurnError | undefined;
}

/** The exit of a codex run that never started because the turn was already stopping. */
export const NOT_STARTED_EXIT: BackendExit = {
  exitCode: undefined,
  signal: undefined,
  stderrTail: "",
  spawnError: undefined,
  durationMs: 0,
  fatalMessage: undefined,
  retryMessage: undefined,
};

/** True for the facts among a backend's events. */
export function isTurnFact(event: BackendEvent): event is TurnFact {
  return (
    event.kind === "thread_started" ||
    event.kind === "turn_completed" ||
    event.kind === "turn_failed" ||
    event.kind === "drift"
  );
}

/** A running codex run. */
export interface BackendRun {
  /** The run's batches; codex is read only as fast as they are consumed. Ending early stops codex. */
  readonly batches: AsyncIterable<BackendBatch>;
  /** Settles once codex has exited and everything it started is gone. Never rejects. */
  readonly exit: Promise<BackendExit>;
}

/** A way to drive codex. */
export interface CodexBackend {
  /** For logs and GetInfo. */
  readonly name: string;
  /**
   * Starts one run. Aborting `signal` stops codex: its clean interrupt first, then the escalation
   * to killing everything it started.
   */
  start(run: CodexRun, signal: AbortSignal): BackendRun;
  /**
   * True when the backend keeps threads loaded in codex processes between turns (app-server). Such a
   * backend frees a thread from its other processes itself before loading it; for a backend that
   * does not, the engine frees the thread from the warm processes (WarmThreads) before a run
   * resumes it.
   */
  readonly keepsThreadsLoaded: boolean;
}

/**
 * The codex processes that may hold a thread between turns (the app-servers, whatever backend is
 * configured now: a config switched from app-server to exec leaves them running until idle).
 */
export interface WarmThreads {
  /**
   * Makes sure none of them holds the thread (in memory, or its writer lock): called with the
   * agent's slot held, before Consume rewrites the rollout, a compaction opens it, or a backend
   * that keeps nothing loaded resumes it.
   */
  releaseThread(threadId: string): Promise<void>;
}
