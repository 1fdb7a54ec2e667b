// hclog's JSON reader parses `@timestamp` with Go's layout "2006-01-02T15:04:05.000000Z07:00"
// (go-plugin log_entry.go). Anything but exactly six fractional digits fails to parse, and the host
// then logs the whole line as raw text at DEBUG, losing its level.

// Offset from the monotonic clock to the Unix epoch, in milliseconds with sub-millisecond precision.
let epochOffsetMs = performance.timeOrigin;

/**
 * The current time in epoch milliseconds, with real microseconds.
 *
 * `performance.timeOrigin + performance.now()` carries microseconds, but the monotonic clock drifts
 * from the wall clock (NTP slews, suspend), so it is re-anchored whenever it strays from `Date.now()`.
 */
export function currentEpochMs(): number {
  const wall = Date.now();
  const precise = epochOffsetMs + performance.now();
  // Date.now() truncates, so an in-sync precise clock lies in [wall, wall + 1); allow a little slack.
  if (precise < wall - 1 || precise >= wall + 2) {
    epochOffsetMs = wall - performance.now();
    return wall;
  }
  return precise;
}

/** Formats epoch milliseconds as UTC with exactly six fractional digits, e.g. `2026-11-22T00:21:01.123456Z`. */
export function formatHclogTimestamp(epochMs: number): string {
  const wholeMs = Math.floor(epochMs);
  // Rounded, because the fraction of a ~1.8e12 double is off by a fraction of a microsecond.
  const micros = Math.min(999, Math.round((epochMs - wholeMs) * 1000));
  // toISOString() is `YYYY-MM-DDTHH:mm:ss.sssZ`; keep the milliseconds and append the microseconds.
  return `${new Date(wholeMs).toISOString().slice(0, -1)}${String(micros).padStart(3, "0")}Z`;
}
