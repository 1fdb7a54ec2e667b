// Token usage: codex's counters, and per-turn usage from codex's thread-cumulative figure.

/** Token counts; field names follow codex's usage object. */
export interface Usage {
  input_tokens: number;
  cached_input_tokens: number;
  cache_write_input_tokens: number;
  output_tokens: number;
  reasoning_output_tokens: number;
}

/** Every token counter of a Usage, for field-by-field arithmetic. */
export const USAGE_FIELDS = [
  "input_tokens",
  "cached_input_tokens",
  "cache_write_input_tokens",
  "output_tokens",
  "reasoning_output_tokens",
] as const satisfies readonly (keyof Usage)[];

/** A zero usage record. */
export function emptyUsage(): Usage {
  return {
    input_tokens: 0,
    cached_input_tokens: 0,
    cache_write_input_tokens: 0,
    output_tokens: 0,
    reasoning_output_tokens: 0,
  };
}

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
