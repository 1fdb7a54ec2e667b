// The wall clock, passed down rather than read where it is needed, so that date-shaped work (codex
// names its session directories by local date) can be tested on any date and in any time zone.

/** A source of wall-clock time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The machine's clock. */
export const systemClock: Clock = { now: () => Date.now() };
