// The one terminal event of a turn, and the one place a turn that broke inside the plugin gets it.
import { isAppError } from "../core/app-error.js";
import type { CanonicalEvent, TurnDiff, TurnOutcome } from "../core/canonical-event.js";
import type { ContextWindowFill } from "../core/context-window.js";
import { isStreamErrorCode, type TurnError, turnError } from "../core/turn-error.js";
import type { Usage } from "../core/usage.js";
import type { BackendExit } from "./codex-backend.js";

export type TurnEndEvent = Extract<CanonicalEvent, { kind: "turn_end" }>;

/** What a turn_end says. */
export interface TurnEndFields {
  outcome: TurnOutcome;
  message: string;
  threadId: string;
  finalText: string;
  durationMs: number;
  usage?: Usage | undefined;
  error?: TurnError | undefined;
  /** How codex exited, when it ran. */
  exit?: BackendExit | undefined;
  structuredOutputJson?: string | undefined;
  diff?: TurnDiff | undefined;
  contextWindow?: ContextWindowFill | undefined;
}

/** The turn_end event. */
export function turnEnd(fields: TurnEndFields): TurnEndEvent {
  const end: TurnEndEvent = {
    kind: "turn_end",
    outcome: fields.outcome,
    message: fields.message,
    threadId: fields.threadId,
    finalText: fields.finalText,
    stderrTail: fields.exit?.stderrTail ?? "",
    durationMs: Math.round(fields.durationMs),
  };
  if (fields.usage !== undefined) end.usage = fields.usage;
  if (fields.error !== undefined) end.error = fields.error;
  if (fields.exit?.exitCode !== undefined) end.exitCode = fields.exit.exitCode;
  if (fields.exit?.signal !== undefined) end.signal = fields.exit.signal;
  if (fields.structuredOutputJson !== undefined) {
    end.structuredOutputJson = fields.structuredOutputJson;
  }
  if (fields.diff !== undefined) end.diff = fields.diff;
  if (fields.contextWindow !== undefined) end.contextWindow = fields.contextWindow;
  return end;
}

/** A turn that failed before codex ran: its error and its end. */
export function failedBeforeCodex(error: TurnError, durationMs: number): CanonicalEvent[] {
  return [
    { kind: "error", error },
    turnEnd({
      outcome: "failed",
      message: error.message,
      error,
      threadId: "",
      finalText: "",
      durationMs,
    }),
  ];
}

/**
 * A turn that broke inside the plugin (a bug, or an I/O failure such as an unreadable thread
 * state): its error and its end. `crashed` once codex had started, `failed` before.
 */
export function brokenTurn(
  cause: unknown,
  fields: Omit<TurnEndFields, "outcome" | "message" | "error"> & { codexStarted: boolean },
): CanonicalEvent[] {
  const detail = cause instanceof Error ? cause.message : String(cause);
  const inner = isAppError(cause) ? (cause.cause as { message?: unknown } | undefined) : undefined;
  const because = typeof inner?.message === "string" ? ` (${inner.message})` : "";
  // e.g. THREAD_STORE_FAILED: the thread state could not be read, so codex never ran.
  const code = isAppError(cause) && isStreamErrorCode(cause.code) ? cause.code : "INTERNAL";
  const error = turnError(code, `plugin error during the turn: ${detail}${because}`);
  const { codexStarted, ...rest } = fields;
  return [
    { kind: "error", error },
    turnEnd({
      ...rest,
      outcome: codexStarted ? "crashed" : "failed",
      message: error.message,
      error,
    }),
  ];
}
