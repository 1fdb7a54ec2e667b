// The one place a turn's codex run is stopped, and why: the host cancels, a bound fires (wall
// clock, idle, first event), the stored thread is lost, codex lingers after its turn ended, or the
// consumer goes away. The first reason wins and decides the turn's outcome (turn-outcome.ts).
import type { Logger } from "pino";

import type { StopCause } from "./turn-outcome.js";
import { TurnWatchdog } from "./turn-watchdog.js";

export interface TurnControlOptions {
  /** Wall-clock, idle and first-event bounds; 0 disables idle or first event. */
  turnMs: number;
  idleMs: number;
  firstEventMs: number;
  /** The host's cancel (the agent slot's signal). */
  signal: AbortSignal;
  /** How long codex may take to exit after its terminal event. */
  exitGraceMs: number;
  logger: Logger;
}

/** Bounds and stops one turn across its codex runs. */
export class TurnControl {
  readonly #options: TurnControlOptions;
  #watchdog: TurnWatchdog | undefined;
  /** The codex run in progress; undefined between runs. */
  #run: AbortController | undefined;
  #cause: StopCause | undefined;
  #exitGrace: NodeJS.Timeout | undefined;
  #lastRetryNotice: string | undefined;
  readonly #onHostAbort = (): void => this.interrupt(abortCause(this.#options.signal.reason));

  constructor(options: TurnControlOptions) {
    this.#options = options;
  }

  /** Why the turn was stopped, if it was. */
  get cause(): StopCause | undefined {
    return this.#cause;
  }

  /** True once the host asked the turn to stop. */
  get hostCancelled(): boolean {
    return this.#options.signal.aborted;
  }

  /** Why the host's signal already stopped the turn, if it did (before codex ever ran). */
  hostCause(): StopCause | undefined {
    const { signal } = this.#options;
    return signal.aborted ? abortCause(signal.reason) : undefined;
  }

  /** A codex run starts: its bounds start (again) and its stop signal is returned. */
  beginRun(): AbortSignal {
    this.#startWatchdog();
    const run = new AbortController();
    this.#run = run;
    const { signal } = this.#options;
    signal.addEventListener("abort", this.#onHostAbort, { once: true });
    // The signal may have fired while the thread state was loading.
    if (signal.aborted) this.#onHostAbort();
    return run.signal;
  }

  /** The run's codex has exited: nothing may stop (or blame) it any more. */
  endRun(): void {
    this.#run = undefined;
    this.#options.signal.removeEventListener("abort", this.#onHostAbort);
    clearTimeout(this.#exitGrace);
    // The wall clock keeps running until finish().
    this.#watchdog?.settle();
  }

  /** No more codex run in this turn: a bound firing now would only mislabel its outcome. */
  finish(): void {
    this.#watchdog?.stop();
    clearTimeout(this.#exitGrace);
    this.#options.signal.removeEventListener("abort", this.#onHostAbort);
  }

  /** Stops the run in progress, if any, for `cause` (unless an earlier cause stands). */
  interrupt(cause: StopCause): void {
    if (this.#run === undefined) return;
    this.#cause ??= cause;
    this.#run.abort(cause);
  }

  /** Codex made progress (any event but a retry notice, which is remembered instead). */
  observe(event: { kind: string; notice?: string; message?: string }): void {
    if (event.kind === "notice" && event.notice === "retrying") {
      this.#lastRetryNotice = event.message;
    } else {
      this.#watchdog?.progress();
    }
  }

  /** The consumer holds events: codex is stalled by back-pressure, not idle. */
  pause(): void {
    this.#watchdog?.pause();
  }

  resume(): void {
    this.#watchdog?.resume();
  }

  /**
   * Codex reported its terminal event: only the wall clock still applies, and a process that
   * lingers would otherwise hold the agent until it fires.
   */
  terminal(): void {
    this.#watchdog?.settle();
    if (this.#exitGrace !== undefined) return;
    this.#exitGrace = setTimeout(() => {
      this.#options.logger.warn("codex did not exit after its turn ended; stopping it");
      this.interrupt({ kind: "linger", message: "codex did not exit after the turn ended" });
    }, this.#options.exitGraceMs);
    this.#exitGrace.unref();
  }

  #startWatchdog(): void {
    if (this.#watchdog !== undefined) {
      this.#watchdog.restartAttempt();
      return;
    }
    const { turnMs, idleMs, firstEventMs, logger } = this.#options;
    this.#watchdog = new TurnWatchdog({
      turnMs,
      idleMs,
      firstEventMs,
      onExpire: (expiry) => {
        const hint =
          expiry.bound !== "turn" && this.#lastRetryNotice !== undefined
            ? `; codex's last notice: ${this.#lastRetryNotice}`
            : "";
        logger.warn({ bound: expiry.bound, limit_ms: expiry.limitMs }, "turn bound fired");
        // Between two codex runs there is no process; the next run then does not start.
        this.#cause ??= { kind: "timeout", code: expiry.code, message: expiry.message + hint };
        this.#run?.abort(this.#cause);
      },
    });
    this.#watchdog.start();
  }
}

/** Why the host's signal stopped the turn. */
export function abortCause(reason: unknown): StopCause {
  if (reason instanceof Error && reason.name === "TimeoutError") {
    return { kind: "timeout", message: "turn deadline exceeded (host timeout)" };
  }
  if (typeof reason === "string" && reason !== "" && reason !== "cancelled") {
    return { kind: "cancelled", message: `turn cancelled: ${reason}` };
  }
  // Errors and plain `{ message }` objects (the provider's cancel reasons) say why themselves.
  const message = (reason as { message?: unknown } | null | undefined)?.message;
  const isDefaultAbort = reason instanceof Error && reason.name === "AbortError";
  if (typeof message === "string" && message !== "" && !isDefaultAbort) {
    return { kind: "cancelled", message: `turn cancelled: ${message}` };
  }
  return { kind: "cancelled", message: "turn cancelled by the host" };
}
