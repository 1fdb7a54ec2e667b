// The shape of one rollout line (codex-rs RolloutLine, 0.169.0): `{timestamp, ordinal?, type,
// payload, metadata?}`. Only the fields this plugin reads are typed; everything else is kept as is.

/** Line types codex 0.169.0 writes (RolloutItem variants). Others are skipped, never fatal. */
export type RolloutLineType =
  | "session_meta"
  | "response_item"
  | "event_msg"
  | "turn_context"
  | "world_state"
  | "token_usage_record"
  | "compacted"
  | (string & {});

/** A parsed rollout line. */
export interface RolloutLine {
  timestamp?: string;
  /** Present on every line of a paginated thread; unique and increasing, never renumbered. */
  ordinal?: number;
  type: RolloutLineType;
  payload: Record<string, unknown>;
}

/** The response item types that carry a tool call or its output. */
export const CALL_TYPES = new Set(["function_call", "custom_tool_call"]);
export const OUTPUT_TYPES = new Set(["function_call_output", "custom_tool_call_output"]);

/** Parses a line's text into a RolloutLine; undefined when it is not one (corrupt, foreign). */
export function parseRolloutLine(text: string): RolloutLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || typeof value["type"] !== "string" || !isRecord(value["payload"])) {
    return undefined;
  }
  return value as unknown as RolloutLine;
}

/** A plain JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value of a string field, or "" when absent or not a string. */
export function stringField(record: Record<string, unknown>, key: string): string {
  const value = record[key];
  return typeof value === "string" ? value : "";
}
