// How a turn ended, decided from what is known once codex is gone: what codex reported, why the
// plugin stopped it, and how the process exited. Pure: no I/O, so every case is tested from a table.
import { classifyCodexError, classifyNetworkStall } from "../codex/error-classifier.js";
import type { TurnOutcome } from "../core/canonical-event.js";
import { type StreamErrorCode, type TurnError, turnError } from "../core/turn-error.js";
import type { BackendExit } from "./codex-backend.js";

/** Why the plugin stopped codex; the first reason wins. */
export interface StopCause {
  /** codex_output: codex printed something the plugin cannot go on with (`code` says what). */
  kind: "cancelled" | "timeout" | "consumer" | "linger" | "thread_lost" | "codex_output";
  message: string;
  /** The plugin's own bounds (TURN_TIMEOUT …) and codex_output; a host deadline has none. */
  code?: StreamErrorCode;
}

/** The check of the final message against the turn's output schema. */
export type StructuredOutputCheck = { ok: true; json: string } | { ok: false; message: string };

/** Everything the decision depends on. */
export interface OutcomeFacts {
  /** Codex reported turn.completed. */
  completed: boolean;
  /** With an output schema, and completed: the check of the final message. */
  structuredOutput?: StructuredOutputCheck | undefined;
  /** Codex reported turn.failed with this error. */
  failure?: TurnError | undefined;
  stop?: StopCause | undefined;
  exit: BackendExit;
  /** The turn asked codex to resume a stored thread. */
  resuming: boolean;
  /** The codex executable, for a spawn failure's message. */
  codexPath: string;
  /** Now, for reset times in codex's messages. */
  now: Date;
}

/** The decision. */
export interface Outcome {
  outcome: TurnOutcome;
  message: string;
  error?: TurnError;
  /** Send the error as an `error` event before turn_end (unless codex already reported it). */
  announceError: boolean;
  /** Codex has no rollout for the stored thread: forget it, so the next turn starts anew. */
  forgetStoredThread: boolean;
  /** The final message validated against the output schema, as compact JSON. */
  structuredOutputJson?: string;
}

/** Decides how the turn ended. */
export function decideOutcome(facts: OutcomeFacts): Outcome {
  if (facts.completed) {
    const checked = facts.structuredOutput;
    if (checked !== undefined && !checked.ok) {
      // The model answered, but not in the shape asked for; another attempt may well succeed.
      return failed(turnError("STRUCTURED_OUTPUT_INVALID", checked.message), true);
    }
    return {
      outcome: "completed",
      message: "turn completed",
      announceError: false,
      forgetStoredThread: false,
      ...(checked?.ok === true ? { structuredOutputJson: checked.json } : {}),
    };
  }
  // Codex's own error was sent when turn.failed arrived.
  if (facts.failure !== undefined) return failed(facts.failure, false);
  const stop = facts.stop;
  if (stop !== undefined) return stopped(stop, facts.exit);
  return diagnose(facts);
}

// The plugin stopped codex: its own bounds and policies fail the turn; the host's stop cancels it.
function stopped(stop: StopCause, exit: BackendExit): Outcome {
  // exec never gives up on an unreachable provider ("Reconnecting... waiting for network"): a time
  // limit ended the turn, and the cause worth reporting is the network.
  const network =
    stop.kind === "timeout" ? classifyNetworkStall(exit.retryMessage, stop) : undefined;
  if (network !== undefined) return failed(network, true);
  if (stop.kind === "timeout" && stop.code !== undefined) {
    return failed(turnError(stop.code, stop.message), true);
  }
  if (stop.kind === "thread_lost") {
    // The lost id is forgotten, so a retry runs in a new thread.
    return failed(turnError("THREAD_NOT_FOUND", stop.message), true);
  }
  if (stop.kind === "codex_output") {
    return failed(turnError(stop.code ?? "CODEX_TURN_FAILED", stop.message), true);
  }
  const outcome: Outcome = {
    outcome: "cancelled",
    message: stop.message,
    announceError: false,
    forgetStoredThread: false,
  };
  // A host deadline: cancelled, with the reason on turn_end.
  if (stop.kind === "timeout") outcome.error = turnError("PROCESS_TIMED_OUT", stop.message);
  return outcome;
}

// Explains a run that ended without turn.completed or turn.failed and that nobody stopped.
function diagnose(facts: OutcomeFacts): Outcome {
  const { exit } = facts;
  if (exit.refusal !== undefined) return failed(exit.refusal, true);
  if (exit.crash !== undefined) return crashed(exit.crash.code, exit.crash.message);
  if (exit.spawnError !== undefined) {
    return crashed(
      "PROCESS_SPAWN_FAILED",
      `could not start codex (${facts.codexPath}): ${exit.spawnError.message}`,
    );
  }
  const fatal = exit.fatalMessage;
  if (exit.exitCode !== undefined && exit.exitCode !== 0 && fatal !== undefined) {
    const error = classifyCodexError(fatal, facts.now);
    const forget = error.code === "THREAD_NOT_FOUND" && facts.resuming;
    if (forget) {
      error.message += "; the stored thread was forgotten, so the next turn starts a new thread";
    }
    return { ...failed(error, true), forgetStoredThread: forget };
  }
  if (exit.signal !== undefined) {
    return crashed("PROCESS_KILLED", `codex was killed by ${exit.signal}${stderrHint(exit)}`);
  }
  if (exit.exitCode === 0) {
    return crashed(
      "CODEX_NO_TERMINAL_EVENT",
      "codex exited 0 without reporting turn.completed or turn.failed: the plugin did not " +
        `understand its output${stderrHint(exit)}`,
    );
  }
  return crashed(
    "PROCESS_EXITED_NONZERO",
    `codex exited with code ${exit.exitCode ?? "?"}${stderrHint(exit)}`,
  );
}

function failed(error: TurnError, announceError: boolean): Outcome {
  return {
    outcome: "failed",
    message: error.message,
    error,
    announceError,
    forgetStoredThread: false,
  };
}

function crashed(code: StreamErrorCode, message: string): Outcome {
  return {
    outcome: "crashed",
    message,
    error: turnError(code, message),
    announceError: true,
    forgetStoredThread: false,
  };
}

function stderrHint(exit: BackendExit): string {
  const last = exit.stderrTail.trim().split("\n").at(-1);
  return last === undefined || last === "" ? "" : `; stderr: ${last.slice(0, 300)}`;
}
