// How a turn ended, from a table of what is known when codex is gone.
import { describe, expect, it } from "vitest";

import { turnError } from "../../../../internal/core/turn-error.js";
import type { BackendExit } from "../../../../internal/turn/codex-backend.js";
import {
  decideOutcome,
  type Outcome,
  type OutcomeFacts,
} from "../../../../internal/turn/turn-outcome.js";

const NOW = new Date(Date.UTC(2027, 5, 1, 12));

function exit(fields: Partial<BackendExit> = {}): BackendExit {
  return {
    exitCode: 0,
    signal: undefined,
    stderrTail: "",
    spawnError: undefined,
    durationMs: 10,
    fatalMessage: undefined,
    retryMessage: undefined,
    ...fields,
  };
}

function facts(fields: Partial<OutcomeFacts>): OutcomeFacts {
  return {
    completed: false,
    exit: exit(),
    resuming: false,
    codexPath: "/usr/bin/codex",
    now: NOW,
    ...fields,
  };
}

const NETWORK_RETRY =
  "Reconnecting... waiting for network (Connection failed: error sending request)";

type Row = [
  string,
  Partial<OutcomeFacts>,
  Partial<Outcome> & { code?: string; errorClass?: string },
];

const ROWS: Row[] = [
  ["completed", { completed: true }, { outcome: "completed", announceError: false }],
  [
    "completed with a valid structured output",
    { completed: true, structuredOutput: { ok: true, json: '{"a":1}' } },
    { outcome: "completed", structuredOutputJson: '{"a":1}' },
  ],
  [
    "completed with an invalid structured output",
    { completed: true, structuredOutput: { ok: false, message: "not an object" } },
    { outcome: "failed", code: "STRUCTURED_OUTPUT_INVALID", announceError: true },
  ],
  [
    "codex reported turn.failed (its error was sent already)",
    { failure: turnError("CODEX_RATE_LIMITED", "429"), exit: exit({ exitCode: 1 }) },
    { outcome: "failed", code: "CODEX_RATE_LIMITED", announceError: false },
  ],
  [
    "the wall-clock bound fired",
    { stop: { kind: "timeout", code: "TURN_TIMEOUT", message: "turn timed out after 1 s" } },
    { outcome: "failed", code: "TURN_TIMEOUT", errorClass: "timeout", announceError: true },
  ],
  [
    "the idle bound fired while codex waited for the network",
    {
      stop: { kind: "timeout", code: "TURN_IDLE_TIMEOUT", message: "no progress for 1 s" },
      exit: exit({ retryMessage: NETWORK_RETRY }),
    },
    { outcome: "failed", code: "TURN_IDLE_TIMEOUT", errorClass: "network", announceError: true },
  ],
  [
    "the host's deadline while codex waited for the network",
    {
      stop: { kind: "timeout", message: "turn deadline exceeded (host timeout)" },
      exit: exit({ retryMessage: NETWORK_RETRY }),
    },
    { outcome: "failed", code: "CODEX_NETWORK_UNREACHABLE", errorClass: "network" },
  ],
  [
    "the host's deadline otherwise",
    { stop: { kind: "timeout", message: "turn deadline exceeded (host timeout)" } },
    { outcome: "cancelled", code: "PROCESS_TIMED_OUT", announceError: false },
  ],
  [
    "the host cancelled",
    { stop: { kind: "cancelled", message: "turn cancelled by the host" } },
    { outcome: "cancelled", message: "turn cancelled by the host", announceError: false },
  ],
  [
    "the consumer went away",
    { stop: { kind: "consumer", message: "the consumer stopped reading" } },
    { outcome: "cancelled" },
  ],
  [
    "the stored thread was lost and the policy fails the turn",
    { stop: { kind: "thread_lost", message: "thread lost: …" } },
    { outcome: "failed", code: "THREAD_NOT_FOUND", announceError: true },
  ],
  [
    "codex announced a thread id that is not a UUID",
    {
      stop: { kind: "codex_output", code: "CODEX_THREAD_ID_INVALID", message: "not a thread id" },
    },
    { outcome: "failed", code: "CODEX_THREAD_ID_INVALID", announceError: true },
  ],
  [
    "codex could not be started",
    {
      exit: exit({ exitCode: undefined, spawnError: { code: "ENOENT", message: "no such file" } }),
    },
    { outcome: "crashed", code: "PROCESS_SPAWN_FAILED", announceError: true },
  ],
  [
    "codex exited 1 with a message it prints for a missing rollout, while resuming",
    {
      resuming: true,
      exit: exit({
        exitCode: 1,
        fatalMessage: "thread/resume: thread/resume failed: no rollout found for thread id x",
      }),
    },
    { outcome: "failed", code: "THREAD_NOT_FOUND", forgetStoredThread: true, announceError: true },
  ],
  [
    "codex exited 1 with an unknown message",
    { exit: exit({ exitCode: 1, fatalMessage: "something odd" }) },
    { outcome: "failed", code: "CODEX_TURN_FAILED", forgetStoredThread: false },
  ],
  [
    "codex was killed by a signal nobody sent",
    { exit: exit({ exitCode: undefined, signal: "SIGKILL" }) },
    { outcome: "crashed", code: "PROCESS_KILLED", announceError: true },
  ],
  [
    "codex exited 0 without a terminal event",
    { exit: exit({ exitCode: 0 }) },
    { outcome: "crashed", code: "CODEX_NO_TERMINAL_EVENT", announceError: true },
  ],
  [
    "codex exited 3 without a message",
    { exit: exit({ exitCode: 3, stderrTail: "panic: boom\n" }) },
    {
      outcome: "crashed",
      code: "PROCESS_EXITED_NONZERO",
      message: "codex exited with code 3; stderr: panic: boom",
    },
  ],
  [
    "the app-server running the turn died",
    {
      exit: exit({
        exitCode: undefined,
        crash: { code: "APP_SERVER_EXITED", message: "codex app-server exited (signal SIGKILL)" },
      }),
    },
    { outcome: "crashed", code: "APP_SERVER_EXITED", announceError: true },
  ],
  [
    "the app-server died, but codex had completed the turn",
    {
      completed: true,
      exit: exit({ crash: { code: "APP_SERVER_EXITED", message: "gone" } }),
    },
    { outcome: "completed" },
  ],
  [
    "the app-server died while the host cancelled: cancelled",
    {
      stop: { kind: "cancelled", message: "turn cancelled: bye" },
      exit: exit({ crash: { code: "APP_SERVER_EXITED", message: "gone" } }),
    },
    { outcome: "cancelled" },
  ],
  [
    "the backend refused the run",
    { exit: exit({ refusal: turnError("BACKEND_UNSUPPORTED", "no CODEX_API_KEY here") }) },
    { outcome: "failed", code: "BACKEND_UNSUPPORTED", errorClass: "precondition" },
  ],
];

describe("decideOutcome", () => {
  it.each(ROWS)("%s", (_name, given, expected) => {
    const outcome = decideOutcome(facts(given));
    const { code, errorClass, ...rest } = expected;
    expect(outcome).toMatchObject(rest);
    if (code !== undefined) expect(outcome.error?.code).toBe(code);
    else expect(outcome.error).toBeUndefined();
    if (errorClass !== undefined) expect(outcome.error?.class).toBe(errorClass);
    if (outcome.error !== undefined && outcome.outcome !== "cancelled") {
      expect(outcome.message).toBe(outcome.error.message);
    }
  });
});
