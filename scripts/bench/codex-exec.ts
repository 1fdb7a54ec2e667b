// Plain `codex exec --json` for the P2 and P4 baselines, timed from spawn to codex's own exit.
// (test/helpers/run-codex-exec.ts waits for 'close' instead: for every holder of codex's stdout and
// stderr to let go, which includes what codex's shell snapshot leaves running. The plugin kills
// those when codex exits, so waiting for them would flatter the plugin.)
import { spawn } from "node:child_process";

import { mockProviderConfigOverrides } from "../../internal/mock-model/codex-provider-overrides.js";
import { toConfigArgs } from "../../internal/mock-model/config-override-args.js";

export interface PlainExecOptions {
  binary: string;
  /** The mock's base_url, ending in /v1. */
  baseUrl: string;
  codexHome: string;
  cwd: string;
  prompt: string;
  resumeThreadId?: string | undefined;
  timeoutMs?: number;
}

export interface PlainExecRun {
  /** Spawn → exit. */
  durationMs: number;
  exitCode: number | null;
  threadId: string | undefined;
  /** The last agent_message's text. */
  finalText: string | undefined;
  completed: boolean;
  stderr: string;
}

const SCRUBBED = [
  "RUST_BACKTRACE",
  "RUST_LOG",
  "CODEX_API_KEY",
  "OPENAI_API_KEY",
  "OPENAI_BASE_URL",
];

export function plainCodexExec(options: PlainExecOptions): Promise<PlainExecRun> {
  const args = [
    "exec",
    "--json",
    "--skip-git-repo-check",
    "--dangerously-bypass-approvals-and-sandbox",
    ...toConfigArgs(mockProviderConfigOverrides(options.baseUrl)),
    ...(options.resumeThreadId === undefined ? [] : ["resume", options.resumeThreadId]),
    "-",
  ];
  const env: NodeJS.ProcessEnv = { ...process.env, CODEX_HOME: options.codexHome };
  for (const name of SCRUBBED) delete env[name];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(options.binary, args, { cwd: options.cwd, env });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      if (stderr.length < 20_000) stderr += chunk;
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.prompt);
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    child.once("error", reject);
    child.once("exit", (exitCode) => {
      const durationMs = performance.now() - started;
      clearTimeout(timer);
      // What codex wrote before exiting is read by now, give or take the last chunk: wait for the
      // rest only if the terminal event has not arrived.
      const finish = () => {
        let threadId: string | undefined;
        let finalText: string | undefined;
        let completed = false;
        for (const line of stdout.split("\n")) {
          if (line.trim() === "") continue;
          const event = JSON.parse(line) as {
            type?: string;
            thread_id?: string;
            item?: { type?: string; text?: string };
          };
          if (event.type === "thread.started") threadId = event.thread_id;
          if (event.type === "turn.completed") completed = true;
          if (event.type === "item.completed" && event.item?.type === "agent_message") {
            finalText = event.item.text;
          }
        }
        resolve({ durationMs, exitCode, threadId, finalText, completed, stderr });
      };
      if (stdout.includes('"turn.completed"')) finish();
      else child.stdout.once("close", finish);
    });
  });
}
