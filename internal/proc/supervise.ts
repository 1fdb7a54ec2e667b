// Runs one child in its own process group with a prompt on stdin, a back-pressured stdout, a
// bounded stderr tail, and a kill escalation that leaves no descendant behind.
//
// node:child_process rather than execa: execa's result waits for stdout to be consumed, while here
// stdout is deliberately left unread when the consumer is slow, and the exit must be observed (to
// kill the group) independently of the streams.
import { type ChildProcess, spawn } from "node:child_process";
import { PassThrough, type Readable, type Writable } from "node:stream";

import type { Logger } from "pino";

import { delay, waitAtMost } from "../core/delay.js";
import { ByteTail, DEFAULT_TAIL_BYTES } from "./byte-tail.js";
import type { ProcessRegistry, TrackedProcess } from "./process-registry.js";
import type { ProcessScanner } from "./process-scanner.js";
import {
  collectDescendants,
  isSameProcess,
  type ProcessInfo,
  readProcessInfo,
  readProcessInfoSync,
  readProcessTable,
  signalIfSame,
  trySignal,
} from "./process-tree.js";
import { findMarkedProcesses, newRunMarker, RUN_MARKER_ENV } from "./run-marker.js";
import { findSessionMembers } from "./session-sweep.js";

/**
 * Crash-recovery bookkeeping of one child (process-ledger.ts): told about the child and its
 * descendants, so a later plugin instance can kill them if this one dies first.
 */
export interface ProcessAccounting {
  /**
   * Called synchronously right after the spawn, with the child's run marker: the value of
   * PLEXUM_CODEX_RUN in its environment, inherited by all it starts (run-marker.ts).
   */
  spawned(pid: number, runMarker: string): void;
  /** Every descendant seen so far (cumulative); called when new ones were found. */
  descendants(found: readonly ProcessInfo[]): void;
  /** The child exited and what it left behind was killed. */
  reaped(): void;
}

/** The strongest step of the kill escalation that was used while the child was alive. */
export type TerminationLevel = "none" | "interrupt" | "terminate" | "kill";

export interface SuperviseOptions {
  file: string;
  args: readonly string[];
  cwd: string;
  env: Record<string, string>;
  /** Written to stdin, which is then closed at once (unless `keepStdinOpen`). */
  input: string;
  /**
   * Leaves stdin open after `input`, for a child that speaks a protocol on it (codex app-server);
   * the caller writes through `stdin` and ends it to let the child exit.
   */
  keepStdinOpen?: boolean;
  /** SIGINT → SIGTERM to the group. */
  interruptGraceMs: number;
  /** SIGTERM → SIGKILL to the group. */
  terminateGraceMs: number;
  stderrTailBytes?: number;
  /** Every live process of the plugin: the child is in it until reaped, for shutdown. */
  processes: ProcessRegistry;
  /** The shared periodic /proc scan that records the child's descendants while it runs. */
  scanner: ProcessScanner;
  logger?: Logger;
  accounting?: ProcessAccounting | undefined;
}

export interface ProcessResult {
  /** undefined when the child died from a signal or never started. */
  exitCode: number | undefined;
  signal: NodeJS.Signals | undefined;
  stderrTail: string;
  /** Set when the child could not be started (ENOENT, EACCES, E2BIG …). */
  spawnError: { code: string; message: string } | undefined;
  termination: TerminationLevel;
  /** Why termination was requested (first reason wins). */
  terminationReason: string | undefined;
  durationMs: number;
}

export interface SupervisedProcess {
  readonly pid: number | undefined;
  /** The child's stdout as bytes. Not reading it applies back-pressure to the child. */
  readonly stdout: Readable;
  /** The child's stdin, with `keepStdinOpen` only (undefined when it could not be started). */
  readonly stdin?: Writable | undefined;
  /** Settles once the child exited and its group was reaped; never rejects. */
  readonly result: Promise<ProcessResult>;
  /** SIGINT, then SIGTERM to the group after the interrupt grace, then SIGKILL. Idempotent. */
  terminate(reason: string): void;
  /** SIGTERM to the group now, SIGKILL after `killAfterMs`. */
  forceKill(reason: string, killAfterMs: number): void;
  /** Records the current descendants now (e.g. when the child is about to exit by itself). */
  recordDescendants(): Promise<void>;
}

// Kill rounds for processes that escaped the tree (see #sweepEscapees).
const SWEEP_ROUNDS = 3;
// After the child exits, how long to wait for stderr to drain before reporting.
const STDERR_DRAIN_MS = 1000;

const LEVEL_ORDER: Record<TerminationLevel, number> = {
  none: 0,
  interrupt: 1,
  terminate: 2,
  kill: 3,
};

/** Spawns and supervises one child. Never throws; a spawn failure is reported in `result`. */
export function superviseProcess(options: SuperviseOptions): SupervisedProcess {
  return new Supervisor(options);
}

class Supervisor implements SupervisedProcess, TrackedProcess {
  readonly stdout: Readable;
  stdin: Writable | undefined;
  readonly result: Promise<ProcessResult>;
  readonly done: Promise<unknown>;
  readonly #options: SuperviseOptions;
  readonly #started = performance.now();
  readonly #tail: ByteTail;
  // Descendants ever seen, by pid; verified by start time before any signal.
  readonly #descendants = new Map<number, ProcessInfo>();
  // In the child's environment, so everything it starts can be found again (run-marker.ts).
  readonly #runMarker = newRunMarker();
  #pid: number | undefined;
  /** codex's /proc start time: every process of this run started at or after it. */
  #startTime: Promise<string | undefined> = Promise.resolve(undefined);
  #exited = false;
  #level: TerminationLevel = "none";
  #reason: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #unregister: (() => void) | undefined;
  #resolve!: (result: ProcessResult) => void;

  constructor(options: SuperviseOptions) {
    this.#options = options;
    this.#tail = new ByteTail(options.stderrTailBytes ?? DEFAULT_TAIL_BYTES);
    this.result = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    this.done = this.result;

    let child: ChildProcess;
    try {
      child = spawn(options.file, [...options.args], {
        cwd: options.cwd,
        env: { ...options.env, [RUN_MARKER_ENV]: this.#runMarker },
        // A new session and process group, so the whole tree can be signalled as -pid.
        detached: true,
        stdio: ["pipe", "pipe", "pipe"],
        windowsHide: true,
      });
    } catch (error) {
      const empty = new PassThrough();
      empty.end();
      this.stdout = empty;
      this.#finish({ spawnError: toSpawnError(error) });
      return;
    }
    this.#pid = child.pid;
    this.stdout = child.stdout as Readable;
    if (options.keepStdinOpen === true) this.stdin = child.stdin ?? undefined;
    this.#wire(child);
  }

  get pid(): number | undefined {
    return this.#pid;
  }

  #wire(child: ChildProcess): void {
    const { logger } = this.#options;
    const stderrEnded = new Promise<void>((resolve) => {
      child.stderr?.on("data", (chunk: Buffer) => this.#tail.push(chunk));
      child.stderr?.once("end", () => resolve());
      child.stderr?.once("close", () => resolve());
      child.stderr?.on("error", () => resolve());
    });
    // Errors while the consumer tears stdout down must not become uncaught exceptions; a for-await
    // reader still sees real errors through its own listener.
    child.stdout?.on("error", () => undefined);

    child.once("error", (error) => {
      if (child.pid === undefined && !this.#exited) {
        this.#exited = true;
        this.#finish({ spawnError: toSpawnError(error) });
      } else {
        logger?.warn({ err: error, pid: child.pid }, "child process error");
      }
    });

    child.once("exit", (code, signal) => {
      this.#exited = true;
      clearTimeout(this.#timer);
      this.#unsubscribe?.();
      logger?.debug({ pid: this.#pid, code, signal, termination: this.#level }, "process exited");
      // Reap whatever the child left behind: same-group children by group kill, escaped-session
      // descendants by the recorded list. Then give stderr a moment to drain.
      this.#signalGroup("SIGKILL");
      void this.#signalDescendants("SIGKILL")
        .then(() => this.#sweepEscapees())
        .then(() => this.#options.accounting?.reaped())
        .then(() => waitAtMost(stderrEnded, STDERR_DRAIN_MS))
        .then(() => {
          this.#finish({ exitCode: code ?? undefined, signal: signal ?? undefined });
        });
    });

    if (child.pid === undefined) return;
    this.#startTime = readProcessInfo(child.pid).then((info) => info?.startTime);
    this.#options.accounting?.spawned(child.pid, this.#runMarker);
    this.#unregister = this.#options.processes.register(this);
    this.#unsubscribe = this.#options.scanner.subscribe((table) => this.#record(table));
    logger?.debug(
      // argv is not logged: `-c` values may carry operator secrets (e.g. HTTP headers).
      { pid: child.pid, file: this.#options.file, arg_count: this.#options.args.length },
      "spawned codex",
    );

    // EPIPE here means the child exited (or closed stdin) before reading the prompt; its exit
    // status tells the real story.
    child.stdin?.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE" && error.code !== "ECONNRESET") {
        logger?.warn({ err: error, pid: child.pid }, "writing the prompt to codex failed");
      }
    });
    if (this.#options.keepStdinOpen === true) {
      if (this.#options.input !== "") child.stdin?.write(this.#options.input, "utf8");
    } else {
      child.stdin?.end(this.#options.input, "utf8");
    }
  }

  terminate(reason: string): void {
    if (this.#exited || this.#pid === undefined || this.#level !== "none") return;
    this.#reason ??= reason;
    this.#options.logger?.info({ pid: this.#pid, reason }, "interrupting codex (SIGINT)");
    // codex handles SIGINT as a clean interrupt: it records turn_aborted in the rollout and exits 1.
    this.#raise("interrupt");
    // Record descendants first: codex may exit on SIGINT within milliseconds, and its session
    // children are unfindable once re-parented.
    void this.#scan().then(() => {
      if (!this.#exited) this.#signalPid("SIGINT");
    });
    this.#schedule(this.#options.interruptGraceMs, () => void this.#escalateToTerminate());
  }

  forceKill(reason: string, killAfterMs: number): void {
    if (this.#exited || this.#pid === undefined) return;
    this.#reason ??= reason;
    clearTimeout(this.#timer);
    if (LEVEL_ORDER[this.#level] < LEVEL_ORDER.terminate) {
      this.#raise("terminate");
      // Record first: codex dies on SIGTERM within milliseconds, and a command started since the
      // last periodic scan would then be unfindable.
      void this.#scan().then(() => {
        this.#signalGroup("SIGTERM");
        return this.#signalDescendants("SIGTERM");
      });
    }
    this.#schedule(killAfterMs, () => void this.#escalateToKill());
  }

  recordDescendants(): Promise<void> {
    return this.#scan();
  }

  killNowSync(): void {
    if (this.#exited || this.#pid === undefined) return;
    this.#signalGroup("SIGKILL");
    for (const info of this.#descendants.values()) {
      if (readProcessInfoSync(info.pid)?.startTime === info.startTime) {
        this.#signalProcess(info, "SIGKILL");
      }
    }
  }

  async #escalateToTerminate(): Promise<void> {
    if (this.#exited) return;
    await this.#scan();
    // forceKill (shutdown) may have overtaken the graceful path meanwhile.
    if (this.#exited || LEVEL_ORDER[this.#level] >= LEVEL_ORDER.terminate) return;
    this.#options.logger?.warn(
      { pid: this.#pid },
      "codex ignored SIGINT; sending SIGTERM to its group",
    );
    this.#raise("terminate");
    this.#signalGroup("SIGTERM");
    await this.#signalDescendants("SIGTERM");
    this.#schedule(this.#options.terminateGraceMs, () => void this.#escalateToKill());
  }

  async #escalateToKill(): Promise<void> {
    if (this.#exited) return;
    await this.#scan();
    if (this.#exited) return;
    this.#options.logger?.warn(
      { pid: this.#pid },
      "codex ignored SIGTERM; sending SIGKILL to its group",
    );
    this.#raise("kill");
    this.#signalGroup("SIGKILL");
    await this.#signalDescendants("SIGKILL");
  }

  #raise(level: TerminationLevel): void {
    if (LEVEL_ORDER[level] > LEVEL_ORDER[this.#level]) this.#level = level;
  }

  #schedule(delayMs: number, action: () => void): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(action, delayMs);
    this.#timer.unref();
  }

  async #scan(): Promise<void> {
    if (this.#exited) return;
    this.#record(await readProcessTable());
  }

  #record(table: readonly ProcessInfo[]): void {
    if (this.#exited || this.#pid === undefined) return;
    const before = this.#descendants.size;
    for (const info of collectDescendants(this.#pid, table)) this.#descendants.set(info.pid, info);
    if (this.#descendants.size > before) {
      this.#options.accounting?.descendants([...this.#descendants.values()]);
    }
  }

  #signalPid(signal: NodeJS.Signals): void {
    if (this.#pid === undefined) return;
    trySignal(this.#pid, signal);
  }

  #signalGroup(signal: NodeJS.Signals): void {
    if (this.#pid === undefined) return;
    trySignal(-this.#pid, signal);
  }

  async #signalDescendants(signal: NodeJS.Signals): Promise<void> {
    await Promise.all(
      [...this.#descendants.values()].map(async (info) => {
        if (await isSameProcess(info)) this.#signalProcess(info, signal);
      }),
    );
  }

  // Processes started after the last scan whose parents are dead now, so no tree leads to them:
  // found by the run marker they inherited, or by the session or group of a recorded command.
  // A few rounds: one of them may fork while the previous round is being killed.
  async #sweepEscapees(): Promise<void> {
    const leaders = [...this.#descendants.values()];
    // Unknown when codex was gone before its start time could be read: then every process's
    // environment is checked.
    const startedAtOrAfter = await this.#startTime;
    for (let round = 0; round < SWEEP_ROUNDS; round += 1) {
      const table = await readProcessTable();
      const marked = await findMarkedProcesses(new Set([this.#runMarker]), {
        table,
        startedAtOrAfter,
      });
      const members = leaders.length === 0 ? [] : findSessionMembers(leaders, table);
      let signalled = 0;
      for (const escapee of [...marked, ...members]) {
        if (await signalIfSame(escapee, "SIGKILL")) signalled += 1;
      }
      if (signalled === 0) return;
      // Long enough for a SIGKILLed process to be gone from the table (usually a zombie, skipped).
      await delay(5);
    }
  }

  #signalProcess(info: ProcessInfo, signal: NodeJS.Signals): void {
    trySignal(info.pid, signal);
    // A descendant leading its own group (codex runs shell commands in a new session) takes that
    // group with it; our own group is signalled separately.
    if (info.pgid === info.pid && info.pgid !== this.#pid) trySignal(-info.pgid, signal);
  }

  #finish(outcome: {
    exitCode?: number | undefined;
    signal?: NodeJS.Signals | undefined;
    spawnError?: ProcessResult["spawnError"];
  }): void {
    this.#unregister?.();
    this.#unsubscribe?.();
    this.#options.accounting?.reaped();
    this.#resolve({
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      stderrTail: this.#tail.toString(),
      spawnError: outcome.spawnError,
      termination: this.#level,
      terminationReason: this.#reason,
      durationMs: Math.round(performance.now() - this.#started),
    });
  }
}

function toSpawnError(error: unknown): { code: string; message: string } {
  const code = (error as { code?: unknown } | undefined)?.code;
  return {
    code: typeof code === "string" ? code : "UNKNOWN",
    message: error instanceof Error ? error.message : String(error),
  };
}
