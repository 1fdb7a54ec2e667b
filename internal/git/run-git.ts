// Runs one git command for the plugin's own bookkeeping (turn snapshots, diffs, worktrees): bounded
// in time and in the stdout it keeps, with an environment that the plugin's own GIT_* variables
// cannot redirect to another repository.
import { spawn } from "node:child_process";

export interface GitOptions {
  cwd: string;
  /** Variables set for this command only (GIT_INDEX_FILE, GIT_OBJECT_DIRECTORY …). */
  env?: Readonly<Record<string, string>>;
  /** Keep at most this many bytes of stdout; the rest is counted, not kept. Default 1 MiB. */
  maxStdoutBytes?: number;
  /** Kill git after this long. Default 60 s. */
  timeoutMs?: number;
  /** The git executable; default `git` on PATH. */
  git?: string;
}

export interface GitResult {
  /** Exit code; undefined when git could not be started or was killed. */
  exitCode: number | undefined;
  /** The first maxStdoutBytes bytes of stdout. */
  stdout: Buffer;
  /** Every byte git wrote to stdout, kept or not. */
  stdoutBytes: number;
  /** The last 4 KiB of stderr. */
  stderr: string;
  timedOut: boolean;
  /** Set when git could not be started (ENOENT when it is not installed). */
  spawnError?: Error;
}

const STDERR_TAIL_BYTES = 4096;

/** The plugin's environment without the GIT_* variables that would point git elsewhere. */
function gitEnv(extra: Readonly<Record<string, string>> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("GIT_")) env[key] = value;
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
  const maxStdout = options.maxStdoutBytes ?? 1_048_576;
  return new Promise((resolve) => {
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let stdoutBytes = 0;
    let stderr = "";
    let timedOut = false;
    let settled = false;
    const child = spawn(options.git ?? "git", [...args], {
      cwd: options.cwd,
      env: gitEnv(options.env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs ?? 60_000);
    timer.unref();
    const finish = (result: Omit<GitResult, "stdout" | "stdoutBytes" | "stderr" | "timedOut">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, stdout: Buffer.concat(kept), stdoutBytes, stderr, timedOut });
    };
    child.stdout.on("data", (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (keptBytes < maxStdout) {
        const part = chunk.subarray(0, maxStdout - keptBytes);
        kept.push(part);
        keptBytes += part.length;
      }
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL_BYTES);
    });
    child.on("error", (error) => finish({ exitCode: undefined, spawnError: error }));
    child.on("close", (code) => finish({ exitCode: code ?? undefined }));
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
