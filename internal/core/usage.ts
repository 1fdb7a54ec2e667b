// Per-turn usage from codex's thread-cumulative `turn.completed.usage`.
import { type Usage, USAGE_FIELDS } from "./canonical-event.js";

export interface UsageDelta {
  /** This turn's usage: cumulative − baseline, field by field. */
  turn: Usage;
  /**
   * True when the cumulative total went below the baseline, so the baseline belonged to another
   * thread or state; the whole cumulative value is then reported as this turn's usage.
   */
  baselineReset: boolean;
}

/**
 * Codex reports thread totals (10 → 20 → 30 over three turns of 10), so summing the raw values
 * double counts. Subtracting the previous total of the same thread gives 10, 10, 10.
 */
export function computeUsageDelta(cumulative: Usage, baseline: Usage): UsageDelta {
  const baselineReset = USAGE_FIELDS.some((field) => cumulative[field] < baseline[field]);
  const turn = { ...cumulative };
  if (!baselineReset) {
    for (const field of USAGE_FIELDS) turn[field] = cumulative[field] - baseline[field];
  }
  return { turn, baselineReset };
}
