// How full a thread's context window is, from codex's token counts. codex-rs/protocol's TokenUsage
// counts the tokens in context as the last request's total_tokens, and its UI's "% left" takes a
// baseline of 12000 tokens (prompts and tools that are always there) off both sides.

/** The baseline codex's UI takes off before computing "% left" (BASELINE_TOKENS). */
export const CODEX_BASELINE_TOKENS = 12_000;

/** A thread's context-window fill after a model request. */
export interface ContextWindowFill {
  /** The last request's input (cached included) plus output. */
  tokensInContext: number;
  /** codex's model_context_window; 0 when codex does not know it. */
  modelContextWindow: number;
  /** tokensInContext / modelContextWindow, not clamped; absent when the window is unknown. */
  fill?: number;
  /** codex's own "% left" figure, 0..100; absent when the window is unknown. */
  percentLeft?: number;
}

/** The fill of `window` holding `tokens`; window 0 means unknown. */
export function contextWindowFill(tokens: number, window: number): ContextWindowFill {
  if (window <= 0) return { tokensInContext: tokens, modelContextWindow: 0 };
  return {
    tokensInContext: tokens,
    modelContextWindow: window,
    fill: tokens / window,
    percentLeft: percentLeft(tokens, window),
  };
}

// codex's TokenUsage::percent_of_context_window_remaining.
function percentLeft(tokens: number, window: number): number {
  if (window <= CODEX_BASELINE_TOKENS) return 0;
  const effective = window - CODEX_BASELINE_TOKENS;
  const used = Math.max(0, tokens - CODEX_BASELINE_TOKENS);
  const remaining = Math.max(0, effective - used);
  return Math.min(100, Math.max(0, Math.round((remaining / effective) * 100)));
}
