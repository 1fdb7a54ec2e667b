// Runs the real codex binary once (`codex exec --json … [resume <id>] -`) against a mock
// Responses server, with the prompt on stdin, and collects its JSONL events.
import { spawn } from "node:child_process";

import type { MockProviderOptions } from "../../internal/mock-model/codex-provider-overrides.js";
import { mockProviderConfigOverrides } from "../../internal/mock-model/codex-provider-overrides.js";
import { toConfigArgs } from "../../internal/mock-model/config-override-args.js";

/** One line of `codex exec --json` output. */
export interface CodexJsonEvent {
  readonly type: string;
  readonly [key: string]: unknown;
}

/** What one codex run did. */
export interface CodexExecRun {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly events: readonly CodexJsonEvent[];
  readonly stderr: string;
  readonly durationMs: number;
  /** The thread.started id, if codex printed one. */
  readonly threadId: string | undefined;
  readonly timedOut: boolean;
}

/** Options of runCodexExec. */
export interface CodexExecOptions {
  readonly binary: string;
  /** The mock server's url (base_url incl. /v1). */
  readonly baseUrl: string;
  /** Must exist; use a throw-away directory. */
  readonly codexHome: string;
  readonly cwd: string;
  readonly prompt: string;
  readonly resumeThreadId?: string;
  /** Inserted before `resume`, where exec-level flags must go. */
  readonly extraArgs?: readonly string[];
  readonly providerOptions?: MockProviderOptions;
  /** SIGKILL after this long (default 60 s) and report timedOut. */
  readonly timeoutMs?: number;
}

// Variables that could reach a real account or change codex's output; tests never pass them on.
const SCRUBBED_ENV = [
  "RUST_BACKTRACE",
  "RUST_LOG",
  "CODEX_API_KEY",
  "OPENAI_API_KEY",
  "OPENAI_BASE_URL",
  "CODEX_ACCESS_TOKEN",
] as const;

/** Spawns the native binary, writes the prompt to stdin and closes it, waits for exit. */
export function runCodexExec(options: CodexExecOptions): Promise<CodexExecRun> {
  const args = [
    "exec",
    "--json",
    "--skip-git-repo-check",
    "--dangerously-bypass-approvals-and-sandbox",
    ...toConfigArgs(mockProviderConfigOverrides(options.baseUrl, options.providerOptions)),
    ...(options.extraArgs ?? []),
    ...(options.resumeThreadId === undefined ? [] : ["resume", options.resumeThreadId]),
    "-",
  ];
  const env: NodeJS.ProcessEnv = { ...process.env, CODEX_HOME: options.codexHome };
  for (const name of SCRUBBED_ENV) {
    delete env[name];
  }
  const started = performance.now();
  const child = spawn(options.binary, args, {
    cwd: options.cwd,
    env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let timedOut = false;
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdin.end(options.prompt);
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, options.timeoutMs ?? 60_000);

  return new Promise((resolve, reject) => {
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (exitCode, signal) => {
      clearTimeout(timer);
      const events = stdout
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as CodexJsonEvent);
      const threadStarted = events.find((event) => event.type === "thread.started");
      const threadId = threadStarted?.["thread_id"];
      resolve({
        exitCode,
        signal,
        events,
        stderr,
        durationMs: performance.now() - started,
        threadId: typeof threadId === "string" ? threadId : undefined,
        timedOut,
      });
    });
  });
}
