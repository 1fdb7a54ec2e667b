// codex's token counts in a rollout: `event_msg` lines of payload type `token_count` (codex-rs
// protocol TokenCountEvent), written after every model response. `info` holds the thread's usage
// and the model's context window; `rate_limits` the account's windows, which codex parses from the
// response headers x-codex-{primary,secondary}-{used-percent,window-minutes,reset-at}. Seen in the
// same shape in codex 0.148.0, 0.169.0 and 0.171.0.
import { type ContextWindowFill, contextWindowFill } from "../core/context-window.js";
import type { RateLimitKind, RateLimitWindow } from "../core/rate-limits.js";
import { isRecord, type RolloutLine } from "./rollout-line.js";

/** What one token_count line says. */
export interface TokenCount {
  /** Absent when the line has no `info` (codex sends rate limits alone before any usage). */
  context?: ContextWindowFill;
  rateLimits: RateLimitWindow[];
  /** True when a field is there with a shape this plugin does not understand (skipped). */
  drift: boolean;
}

/** Where and when the line was read, for the windows it carries. */
export interface TokenCountPlace {
  threadId: string;
  /** Used when the line has no parsable timestamp. */
  now: number;
}

const KINDS: readonly RateLimitKind[] = ["primary", "secondary"];

/** The token count a rollout line carries; undefined for every other line. */
export function tokenCountOf(line: RolloutLine, place: TokenCountPlace): TokenCount | undefined {
  const { payload } = line;
  if (line.type !== "event_msg" || payload["type"] !== "token_count") return undefined;
  const parsed = Date.parse(line.timestamp ?? "");
  const observedAtMs = Number.isFinite(parsed) ? parsed : place.now;
  const result: TokenCount = { rateLimits: [], drift: false };
  const info = payload["info"];
  if (isRecord(info)) {
    const context = contextOf(info);
    if (context === undefined) result.drift = true;
    else result.context = context;
  } else if (info !== undefined && info !== null) {
    result.drift = true;
  }
  const limits = payload["rate_limits"];
  if (isRecord(limits)) {
    const limitId = optionalString(limits["limit_id"]);
    const limitName = optionalString(limits["limit_name"]);
    if (limitId === undefined || limitName === undefined) result.drift = true;
    for (const kind of KINDS) {
      const window = limits[kind];
      if (window === undefined || window === null) continue;
      const base = {
        limitId: limitId === undefined || limitId === "" ? "codex" : limitId,
        limitName: limitName ?? "",
        kind,
        source: "rollout" as const,
        observedAtMs,
        threadId: place.threadId,
      };
      const read = isRecord(window) ? windowOf(window, observedAtMs) : undefined;
      if (read === undefined) result.drift = true;
      else result.rateLimits.push({ ...base, ...read });
    }
  } else if (limits !== undefined && limits !== null) {
    result.drift = true;
  }
  return result;
}

// info.last_token_usage.total_tokens and info.model_context_window (null: unknown model).
function contextOf(info: Record<string, unknown>): ContextWindowFill | undefined {
  const last = info["last_token_usage"];
  const tokens = isRecord(last) ? last["total_tokens"] : undefined;
  if (!isCount(tokens)) return undefined;
  const window = info["model_context_window"];
  if (window === undefined || window === null) return contextWindowFill(tokens, 0);
  return isCount(window) ? contextWindowFill(tokens, window) : undefined;
}

type WindowFields = Pick<RateLimitWindow, "usedPercent" | "windowMinutes" | "resetsAtMs">;

// A RateLimitWindow: used_percent, window_minutes?, resets_at? (epoch seconds). codex releases
// before resets_at wrote resets_in_seconds, counted from the line's time.
function windowOf(window: Record<string, unknown>, observedAtMs: number): WindowFields | undefined {
  const used = window["used_percent"];
  if (typeof used !== "number" || !Number.isFinite(used)) return undefined;
  const fields: WindowFields = { usedPercent: used };
  const minutes = window["window_minutes"];
  if (isCount(minutes)) fields.windowMinutes = minutes;
  else if (minutes !== undefined && minutes !== null) return undefined;
  const resetsAt = window["resets_at"];
  const resetsIn = window["resets_in_seconds"];
  if (isCount(resetsAt)) fields.resetsAtMs = resetsAt * 1000;
  else if (resetsAt !== undefined && resetsAt !== null) return undefined;
  else if (isCount(resetsIn)) fields.resetsAtMs = observedAtMs + resetsIn * 1000;
  return fields;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

// A string field that may be null or absent (""); undefined when it has another type.
function optionalString(value: unknown): string | undefined {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : undefined;
}
