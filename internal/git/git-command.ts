// Runs one git command for the plugin's own bookkeeping (turn snapshots, diffs, worktrees) through
// the plugin's one short-command API, with an environment that the plugin's own GIT_* variables
// cannot redirect to another repository.
import type { ProcessRegistry } from "../proc/process-registry.js";
import { type CommandResult, runCommand } from "../proc/run-command.js";

export interface GitOptions {
  cwd: string;
  /** Variables set for this command only (GIT_INDEX_FILE, GIT_OBJECT_DIRECTORY …). */
  env?: Readonly<Record<string, string>>;
  /** Keep at most this many bytes of stdout; the rest is counted, not kept. Default 1 MiB. */
  maxStdoutBytes?: number;
  /** Stop git after this long. Default 60 s. */
  timeoutMs?: number;
  /** The git executable; default `git` on PATH. */
  git?: string;
  /** Every live process of the plugin (git is killed with them). */
  processes: ProcessRegistry;
}

export type GitResult = CommandResult;

/** The plugin's environment without the GIT_* variables that would point git elsewhere. */
function gitEnv(extra: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("GIT_") && value !== undefined) env[key] = value;
  }
  // No pager, prompt, optional lock on the real index, or translated messages.
  Object.assign(env, {
    GIT_TERMINAL_PROMPT: "0",
    GIT_OPTIONAL_LOCKS: "0",
    GIT_PAGER: "cat",
    LC_ALL: "C",
  });
  return { ...env, ...extra };
}

/** Runs `git <args>`; never rejects. */
export function runGit(args: readonly string[], options: GitOptions): Promise<GitResult> {
  return runCommand(options.git ?? "git", args, {
    cwd: options.cwd,
    env: gitEnv(options.env),
    timeoutMs: options.timeoutMs ?? 60_000,
    maxStdoutBytes: options.maxStdoutBytes,
    processes: options.processes,
  });
}

/** The one-line reason a git command failed, for messages and logs. */
export function gitFailure(args: readonly string[], result: GitResult): string {
  const command = `git ${args.slice(0, 2).join(" ")}`;
  if (result.spawnError !== undefined) return `${command}: ${result.spawnError.message}`;
  if (result.timedOut) return `${command} timed out`;
  const detail = result.stderr.trim().split("\n").at(-1) ?? "";
  return `${command} exited ${result.exitCode ?? "?"}${detail === "" ? "" : `: ${detail}`}`;
}
