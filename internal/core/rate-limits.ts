// Account rate-limit windows as codex reports them (codex-rs/protocol RateLimitSnapshot: primary
// and secondary windows of a limit id), with where and when the plugin saw each one.

/** Which window of a limit: with ChatGPT plans typically the 5-hour and the weekly one. */
export type RateLimitKind = "primary" | "secondary";

/** Where a window was read: the thread's rollout now, app-server's account/rateLimits/read later. */
export type RateLimitSource = "rollout" | "app-server";

/** One observed rate-limit window. */
export interface RateLimitWindow {
  /** codex's limit id: "codex" for the x-codex-* headers, "codex_<name>" for other limits. */
  limitId: string;
  /** codex's display name of the limit; "" when none. */
  limitName: string;
  kind: RateLimitKind;
  /** 0..100. */
  usedPercent: number;
  windowMinutes?: number;
  /** Epoch milliseconds. */
  resetsAtMs?: number;
  source: RateLimitSource;
  /** Epoch milliseconds. */
  observedAtMs: number;
  threadId: string;
}

/** The key under which a newer observation replaces an older one. */
export function rateLimitKey(window: Pick<RateLimitWindow, "limitId" | "kind">): string {
  return `${window.limitId}\u0000${window.kind}`;
}

/**
 * `current` updated with `seen`: per limit id and kind the later observation wins (a tie goes to
 * `seen`). A window missing from a newer snapshot keeps its older observation, whose observedAt
 * says how old it is. Ordered by limit id, then primary before secondary.
 */
export function mergeRateLimits(
  current: readonly RateLimitWindow[],
  seen: readonly RateLimitWindow[],
): RateLimitWindow[] {
  const byKey = new Map<string, RateLimitWindow>();
  for (const window of current) byKey.set(rateLimitKey(window), window);
  for (const window of seen) {
    const key = rateLimitKey(window);
    const previous = byKey.get(key);
    if (previous === undefined || window.observedAtMs >= previous.observedAtMs) {
      byKey.set(key, window);
    }
  }
  return [...byKey.values()].sort(
    (a, b) => a.limitId.localeCompare(b.limitId, "en") || a.kind.localeCompare(b.kind, "en"),
  );
}
