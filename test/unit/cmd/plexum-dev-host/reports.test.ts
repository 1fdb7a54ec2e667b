import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";

import { JsonReport } from "../../../../cmd/plexum-dev-host/json-report.js";
import { TextReport } from "../../../../cmd/plexum-dev-host/text-report.js";
import {
  ErrorClass,
  ToolEvent_Phase,
  TurnEnd_Outcome,
  type TurnEvent,
  TurnEventSchema,
} from "../../../../src/gen/plexum/provider/v1/provider_pb.js";

const THREAD = "01a23c0e-5979-7881-ab44-b504e2521ce2";
const usage = (input: number, output: number) => ({
  inputTokens: BigInt(input),
  cachedInputTokens: 0n,
  outputTokens: BigInt(output),
  reasoningOutputTokens: 0n,
});
type EventInit = NonNullable<MessageInitShape<typeof TurnEventSchema>["event"]>;
const event = (body: EventInit): TurnEvent => create(TurnEventSchema, { seq: 1n, event: body });
const started = (resumed: boolean) =>
  event({
    case: "turnStarted",
    value: { threadId: THREAD, resumed, model: "", sandbox: "bypass" },
  });
const AUTH = "codex is not logged in (no /h/auth.json): log codex in: run `codex login`";
const authError = { class: ErrorClass.AUTH, code: "NOT_LOGGED_IN", message: AUTH };

function textReport(options = {}): { report: TextReport; lines: string[] } {
  const lines: string[] = [];
  return { report: new TextReport((line) => lines.push(line), options), lines };
}

describe("TextReport", () => {
  it("says when a turn resumes a thread from before this session, once", () => {
    const { report, lines } = textReport({ resumeHint: "use --new-thread" });
    report.report({ type: "event", turn: 1, event: started(true) });
    report.report({ type: "event", turn: 2, event: started(true) });
    expect(lines).toEqual([
      `▶ resumed thread ${THREAD} (use --new-thread) · model codex default · sandbox bypass`,
      `▶ resumed thread ${THREAD} · model codex default · sandbox bypass`,
    ]);
  });

  it("prints a turn's usage once, the thread total only when it differs", () => {
    const { report, lines } = textReport();
    for (const [turn, thread] of [
      [usage(10, 2), usage(10, 2)],
      [usage(5, 1), usage(15, 3)],
    ] as const) {
      report.report({ type: "turn", turn: 1, agent_id: "a", prompt: "p" });
      report.report({
        type: "event",
        turn: 1,
        event: event({ case: "usage", value: { turn, thread } }),
      });
      report.report({
        type: "event",
        turn: 1,
        event: event({
          case: "turnEnd",
          value: {
            outcome: TurnEnd_Outcome.COMPLETED,
            message: "turn completed",
            durationMs: 7n,
            usage: turn,
          },
        }),
      });
    }
    expect(lines).toEqual([
      "\n> p",
      "■ turn completed in 7 ms\n  usage: in 10 (cached 0), out 2 (reasoning 0)",
      "\n> p",
      "■ turn completed in 7 ms\n  usage: in 5 (cached 0), out 1 (reasoning 0); thread total in 15 (cached 0), out 3 (reasoning 0)",
    ]);
  });

  it("says a message once: a config warning, the error event, turn_end's message and error", () => {
    const { report, lines } = textReport();
    report.report({
      type: "diagnostic",
      severity: "warning",
      field: "openai",
      summary: `credentials (none) are not ready: ${AUTH}`,
    });
    report.report({ type: "event", turn: 1, event: event({ case: "error", value: authError }) });
    report.report({
      type: "event",
      turn: 1,
      event: event({
        case: "turnEnd",
        value: { outcome: TurnEnd_Outcome.FAILED, message: AUTH, durationMs: 3n, error: authError },
      }),
    });
    expect(lines).toEqual([
      `config warning: openai: credentials (none) are not ready: ${AUTH}`,
      "⚠ [auth] NOT_LOGGED_IN (not retryable): as above",
      "■ turn failed in 3 ms",
    ]);
    expect(lines.join("\n").split(AUTH)).toHaveLength(2);
  });

  it("prints turn_end's error when no error event said it", () => {
    const { report, lines } = textReport();
    report.report({
      type: "event",
      turn: 1,
      event: event({
        case: "turnEnd",
        value: {
          outcome: TurnEnd_Outcome.FAILED,
          message: "it broke",
          durationMs: 3n,
          error: authError,
        },
      }),
    });
    expect(lines).toEqual([
      `■ turn failed in 3 ms — it broke\n  error: [auth] NOT_LOGGED_IN (not retryable): ${AUTH}`,
    ]);
  });

  it("does not repeat a command right under its own start line", () => {
    const { report, lines } = textReport();
    const command = (phase: ToolEvent_Phase, id: string, output = "") =>
      event({
        case: "tool",
        value: {
          itemId: id,
          phase,
          tool: {
            case: "command",
            value: { command: `ls ${id}`, aggregatedOutput: output, exitCode: 0 },
          },
        },
      });
    report.report({ type: "event", turn: 1, event: command(ToolEvent_Phase.STARTED, "a") });
    report.report({
      type: "event",
      turn: 1,
      event: command(ToolEvent_Phase.COMPLETED, "a", "x\n"),
    });
    report.report({ type: "event", turn: 1, event: command(ToolEvent_Phase.STARTED, "b") });
    report.report({ type: "event", turn: 1, event: command(ToolEvent_Phase.STARTED, "c") });
    report.report({ type: "event", turn: 1, event: command(ToolEvent_Phase.COMPLETED, "b") });
    expect(lines).toEqual([
      "🔧 $ ls a",
      "   → exit 0\n    x",
      "🔧 $ ls b",
      "🔧 $ ls c",
      "🔧 $ ls b → exit 0",
    ]);
  });
});

describe("JsonReport", () => {
  it("writes each fact as one JSON line, events in protobuf's JSON beside type and turn", () => {
    const lines: string[] = [];
    const report = new JsonReport((line) => lines.push(line));
    report.report({ type: "thread_reset", agent_id: "a", previous_thread_id: THREAD });
    report.report({ type: "event", turn: 2, event: started(false) });
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      { type: "thread_reset", agent_id: "a", previous_thread_id: THREAD },
      {
        type: "event",
        turn: 2,
        seq: "1",
        turn_started: { thread_id: THREAD, sandbox: "bypass" },
      },
    ]);
  });
});
