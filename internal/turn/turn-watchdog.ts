// The three bounds of a turn: wall clock, idle (no progress from codex) and first event. Codex
// itself never gives up on some stalls: with the network down it prints "Reconnecting... waiting
// for network" forever (observed for 11 minutes with 0.169.0), and a stuck start-up prints nothing.
//
// Idle and first-event time only runs while the plugin waits for codex. While the consumer (the
// host, over gRPC) holds an event, codex is blocked on its stdout pipe by back-pressure, so that
// time is not codex's silence; the wall clock runs regardless.

import type { StreamErrorCode } from "../core/turn-error.js";

/** Which bound fired. */
export type WatchdogBound = "turn" | "idle" | "first_event";

export interface WatchdogExpiry {
  bound: WatchdogBound;
  /** Stable error code: TURN_TIMEOUT, TURN_IDLE_TIMEOUT or TURN_FIRST_EVENT_TIMEOUT. */
  code: StreamErrorCode;
  /** What fired, with the limit in seconds and the config key that sets it. */
  message: string;
  limitMs: number;
}

export interface TurnWatchdogOptions {
  /** Wall-clock bound of the whole turn. */
  turnMs: number;
  /** No progress for this long fires; 0 disables. Applies from the first event on. */
  idleMs: number;
  /** No event this long after a codex process starts fires; 0 disables (idle applies instead). */
  firstEventMs: number;
  /** Called at most once, with the first bound that fired. */
  onExpire: (expiry: WatchdogExpiry) => void;
  /** Monotonic milliseconds; performance.now by default. */
  now?: () => number;
}

// setTimeout fires at once for delays above 2^31-1 ms.
const MAX_TIMER_MS = 2_147_483_647;

export const WATCHDOG_CODES: Record<WatchdogBound, StreamErrorCode> = {
  turn: "TURN_TIMEOUT",
  idle: "TURN_IDLE_TIMEOUT",
  first_event: "TURN_FIRST_EVENT_TIMEOUT",
};

/** Watches one turn. Timers are unref'd: they never keep the process alive by themselves. */
export class TurnWatchdog {
  readonly #options: TurnWatchdogOptions;
  readonly #now: () => number;
  #turnTimer: NodeJS.Timeout | undefined;
  #activityTimer: NodeJS.Timeout | undefined;
  /** When #activityTimer fires, on the #now() clock. */
  #activityTimerAt = 0;
  // Paused time is subtracted from the activity clock.
  #pausedTotal = 0;
  #pausedAt: number | undefined;
  #attemptStart = 0;
  #lastProgress = 0;
  #sawEvent = false;
  #settled = false;
  #running = false;
  #fired = false;

  constructor(options: TurnWatchdogOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** True once a bound fired. */
  get fired(): boolean {
    return this.#fired;
  }

  /** Starts the wall clock and the first codex process's activity clock. */
  start(): void {
    if (this.#running || this.#fired) return;
    this.#running = true;
    this.#turnTimer = setTimeout(
      () => this.#fire("turn", this.#options.turnMs),
      Math.min(Math.max(0, this.#options.turnMs), MAX_TIMER_MS),
    );
    this.#turnTimer.unref();
    this.restartAttempt();
  }

  /** A new codex process in the same turn: the first-event deadline and idle clock start over. */
  restartAttempt(): void {
    this.#attemptStart = this.#activityNow();
    this.#lastProgress = this.#attemptStart;
    this.#sawEvent = false;
    this.#settled = false;
    this.#schedule();
  }

  /** Codex made progress (any event but a retry notice). */
  progress(): void {
    this.#sawEvent = true;
    this.#lastProgress = this.#activityNow();
    this.#schedule();
  }

  /**
   * The consumer holds an event: the activity clock stands still until {@link resume}. A timer that
   * fires meanwhile does nothing; resume() arms it again.
   */
  pause(): void {
    if (this.#pausedAt !== undefined) return;
    this.#pausedAt = this.#now();
  }

  resume(): void {
    if (this.#pausedAt === undefined) return;
    this.#pausedTotal += this.#now() - this.#pausedAt;
    this.#pausedAt = undefined;
    this.#schedule();
  }

  /** Codex reported its terminal event: only the wall clock still applies. */
  settle(): void {
    this.#settled = true;
    clearTimeout(this.#activityTimer);
    this.#activityTimer = undefined;
  }

  stop(): void {
    this.#running = false;
    clearTimeout(this.#turnTimer);
    clearTimeout(this.#activityTimer);
    this.#turnTimer = undefined;
    this.#activityTimer = undefined;
  }

  #activityNow(): number {
    const now = this.#now();
    const paused = this.#pausedAt === undefined ? 0 : now - this.#pausedAt;
    return now - this.#pausedTotal - paused;
  }

  // The activity bound in force now and how much of it is left, or undefined when none applies.
  #pending(): { bound: "idle" | "first_event"; limitMs: number; leftMs: number } | undefined {
    const { idleMs, firstEventMs } = this.#options;
    const now = this.#activityNow();
    if (!this.#sawEvent && firstEventMs > 0) {
      return {
        bound: "first_event",
        limitMs: firstEventMs,
        leftMs: firstEventMs - (now - this.#attemptStart),
      };
    }
    if (idleMs > 0) {
      return { bound: "idle", limitMs: idleMs, leftMs: idleMs - (now - this.#lastProgress) };
    }
    return undefined;
  }

  // Keeps a timer that fires no later than the bound in force needs: one that fires early re-arms
  // for the rest, so progress and pauses (every event batch) cost no timer churn.
  #schedule(): void {
    if (!this.#running || this.#fired || this.#settled || this.#pausedAt !== undefined) return;
    const pending = this.#pending();
    if (pending === undefined) {
      clearTimeout(this.#activityTimer);
      this.#activityTimer = undefined;
      return;
    }
    const delay = Math.min(Math.max(0, Math.ceil(pending.leftMs)), MAX_TIMER_MS);
    const now = this.#now();
    if (this.#activityTimer !== undefined && this.#activityTimerAt <= now + delay) return;
    clearTimeout(this.#activityTimer);
    this.#activityTimerAt = now + delay;
    this.#activityTimer = setTimeout(() => {
      this.#activityTimer = undefined;
      const current = this.#pending();
      if (current === undefined || this.#pausedAt !== undefined || this.#settled) return;
      // Early (progress, a pause, or the timer itself): re-arm for the rest.
      if (current.leftMs > 0) this.#schedule();
      else this.#fire(current.bound, current.limitMs);
    }, delay);
    this.#activityTimer.unref();
  }

  #fire(bound: WatchdogBound, limitMs: number): void {
    if (this.#fired || !this.#running) return;
    this.#fired = true;
    this.stop();
    this.#options.onExpire({
      bound,
      code: WATCHDOG_CODES[bound],
      message: message(bound, limitMs),
      limitMs,
    });
  }
}

function message(bound: WatchdogBound, limitMs: number): string {
  const seconds = Math.round(limitMs / 100) / 10;
  switch (bound) {
    case "turn":
      return `turn timed out after ${seconds} s (wall-clock bound: timeouts.turn_seconds or the turn's turn_timeout_seconds)`;
    case "idle":
      return `codex made no progress for ${seconds} s (idle bound: timeouts.idle_seconds or the turn's idle_timeout_seconds)`;
    case "first_event":
      return `codex printed no event within ${seconds} s of starting (first-event bound: timeouts.first_event_seconds or the turn's first_event_timeout_seconds)`;
  }
}
