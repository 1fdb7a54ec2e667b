// The seam between the engine's CompactThread and the codex that compacts: the engine holds the
// agent's slot and finds the thread and its settings; a compactor makes codex compact it.
import type { Logger } from "pino";

import type { Usage } from "../core/usage.js";

/** One compaction, planned: the thread and everything codex needs to load it as turns do. */
export interface CompactionRun {
  agentId: string;
  threadId: string;
  /** The codex executable, and the directory of its helper binaries when it has one. */
  codex: { path: string; helperPathDir?: string | undefined };
  /** Where the codex process runs (compaction runs no command, so not the workspace). */
  cwd: string;
  /** CODEX_HOME for codex, when the plugin sets one. */
  codexHome: string | undefined;
  /** CODEX_SQLITE_HOME for codex (per-agent homes keep their own databases). */
  sqliteHome: string | undefined;
  /** The codex model; undefined keeps codex's default. */
  cliModel: string | undefined;
  /** `key=value` config overrides, in order (later wins): the same as the agent's turns get. */
  configOverrides: readonly string[];
  /** Environment changes for the model provider: keys to set, variables to remove. */
  env: { set: Readonly<Record<string, string>>; unset: readonly string[] };
  logger: Logger;
}

/** What a compaction did, in codex's own figures. */
export interface CompactionResult {
  threadId: string;
  /**
   * Tokens in the context window before: codex's `last.totalTokens` for the thread when it was
   * loaded (the last model request's input + output, restored from the rollout); 0 when the
   * thread has no recorded usage.
   */
  tokensBefore: number;
  /**
   * Tokens in the context window after: codex's `last.totalTokens` once the history was replaced
   * (its estimate of the compacted history, which the next request starts from).
   */
  tokensAfter: number;
  /** The model's context window as codex knows it; undefined when codex does not say. */
  modelContextWindow: number | undefined;
  /** What the compaction's own model requests used (codex's thread total after − before). */
  usage: Usage;
  durationMs: number;
}

/** Makes codex compact a thread. */
export interface ThreadCompactor {
  /**
   * Compacts `run.threadId` and returns codex's figures. Throws an AppError; aborting `signal`
   * stops codex (its process group is killed) and rejects.
   */
  compact(run: CompactionRun, signal: AbortSignal): Promise<CompactionResult>;
}
