// Runs one short command for the plugin's own bookkeeping (git snapshots and diffs, worktrees,
// `codex --version`): execa, in a process group of its own that a timeout or the plugin's exit
// kills whole, with bounded output. Never rejects. Codex itself runs under supervise.ts.
import { execa } from "execa";

import { ByteTail } from "./byte-tail.js";
import type { ProcessRegistry } from "./process-registry.js";
import { trySignal } from "./process-tree.js";

export interface CommandOptions {
  cwd?: string | undefined;
  /** The command's whole environment (nothing is inherited besides it). */
  env: Readonly<Record<string, string>>;
  /** Stop the command after this long: SIGINT, then SIGTERM and SIGKILL to its group. */
  timeoutMs: number;
  /** Keep at most this many bytes of stdout; the rest is counted, not kept. Default 1 MiB. */
  maxStdoutBytes?: number | undefined;
  /** Every live process of the plugin: the command is killed with them at shutdown or exit. */
  processes: ProcessRegistry;
}

export interface CommandResult {
  /** Exit code; undefined when the command could not start or was killed. */
  exitCode: number | undefined;
  /** The first maxStdoutBytes bytes of stdout. */
  stdout: Buffer;
  /** Every byte written to stdout, kept or not. */
  stdoutBytes: number;
  /** The last 4 KiB of stderr. */
  stderr: string;
  timedOut: boolean;
  /** Set when the command could not be started (ENOENT when it is not installed). */
  spawnError?: Error;
}

const STDERR_TAIL_BYTES = 4096;
/** Between the steps of the timeout's escalation. */
const ESCALATION_STEP_MS = 1000;

/** Runs `file args`; never rejects. */
export async function runCommand(
  file: string,
  args: readonly string[],
  options: CommandOptions,
): Promise<CommandResult> {
  const maxStdout = options.maxStdoutBytes ?? 1_048_576;
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let stdoutBytes = 0;
  const stderr = new ByteTail(STDERR_TAIL_BYTES);
  const subprocess = execa(file, args, {
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    env: options.env,
    extendEnv: false,
    stdin: "ignore",
    // Read below, keeping only what is wanted: nothing is buffered beyond the bounds.
    buffer: false,
    // A group of its own, so hooks and helpers git starts die with it.
    detached: true,
    reject: false,
  });
  subprocess.stdout.on("data", (chunk: Buffer) => {
    stdoutBytes += chunk.length;
    if (keptBytes < maxStdout) {
      const part = chunk.subarray(0, maxStdout - keptBytes);
      kept.push(part);
      keptBytes += part.length;
    }
  });
  subprocess.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
  const pid = subprocess.pid;
  let timedOut = false;
  const signalGroup = (signal: NodeJS.Signals): void => {
    if (pid !== undefined) trySignal(-pid, signal);
  };
  const steps: NodeJS.Timeout[] = [];
  const timer = setTimeout(() => {
    timedOut = true;
    signalGroup("SIGINT");
    steps.push(setTimeout(() => signalGroup("SIGTERM"), ESCALATION_STEP_MS));
    steps.push(setTimeout(() => signalGroup("SIGKILL"), 2 * ESCALATION_STEP_MS));
  }, options.timeoutMs);
  const unregister =
    pid === undefined
      ? () => undefined
      : options.processes.register({
          forceKill: (_reason, killAfterMs) => {
            signalGroup("SIGTERM");
            steps.push(setTimeout(() => signalGroup("SIGKILL"), killAfterMs));
          },
          killNowSync: () => signalGroup("SIGKILL"),
          done: subprocess.then(
            () => undefined,
            () => undefined,
          ),
        });
  try {
    const result = await subprocess;
    // Not started at all (ENOENT, EACCES): execa fails without an exit code or a signal.
    const notStarted = result.failed && result.exitCode === undefined && !result.isTerminated;
    return {
      exitCode: result.exitCode,
      stdout: Buffer.concat(kept),
      stdoutBytes,
      stderr: stderr.toString(),
      timedOut,
      ...(notStarted ? { spawnError: spawnErrorOf(result) } : {}),
    };
  } finally {
    clearTimeout(timer);
    for (const step of steps) clearTimeout(step);
    // Whatever the command left in its group goes with it.
    signalGroup("SIGKILL");
    unregister();
  }
}

function spawnErrorOf(result: { cause?: unknown; shortMessage?: string | undefined }): Error {
  const cause: unknown = result.cause;
  return cause instanceof Error ? cause : new Error(result.shortMessage ?? "could not start");
}
