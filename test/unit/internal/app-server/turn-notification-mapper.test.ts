// App-server notifications → the canonical events the exec mapper gives for the same items, plus
// deltas; shapes as codex 0.169.0 sends them (/work/notes transcripts, research §9.1).
import { describe, expect, it } from "vitest";

import { TurnNotificationMapper } from "../../../../internal/app-server/turn-notification-mapper.js";

const THREAD = "01a23c94-e915-7851-848e-110d7b8f2abb";
const TURN = "01a23c94-e962-7b51-b2be-f4d9f30ce611";
const at = { threadId: THREAD, turnId: TURN };

function usage(input: number, output: number) {
  return {
    totalTokens: input + output,
    inputTokens: input,
    cachedInputTokens: 0,
    cacheWriteInputTokens: 0,
    outputTokens: output,
    reasoningOutputTokens: 0,
  };
}

describe("TurnNotificationMapper", () => {
  it("maps deltas, whole items and the turn's end with the thread's cumulative usage", () => {
    const mapper = new TurnNotificationMapper();
    const out = [
      ...mapper.map("turn/started", { threadId: THREAD, turn: { id: TURN } }),
      ...mapper.map("item/started", {
        ...at,
        item: { type: "reasoning", id: "rs_1", summary: [], content: [] },
      }),
      ...mapper.map("item/reasoning/summaryPartAdded", { ...at, itemId: "rs_1", summaryIndex: 0 }),
      ...mapper.map("item/reasoning/summaryTextDelta", { ...at, itemId: "rs_1", delta: "look" }),
      ...mapper.map("item/reasoning/summaryPartAdded", { ...at, itemId: "rs_1", summaryIndex: 1 }),
      ...mapper.map("item/reasoning/summaryTextDelta", { ...at, itemId: "rs_1", delta: "then" }),
      ...mapper.map("item/completed", {
        ...at,
        item: { type: "reasoning", id: "rs_1", summary: ["look", "then"], content: [] },
      }),
      ...mapper.map("item/started", {
        ...at,
        item: {
          type: "commandExecution",
          id: "call_cmd_1",
          command: "echo hi",
          status: "inProgress",
          aggregatedOutput: null,
          exitCode: null,
        },
      }),
      ...mapper.map("item/commandExecution/outputDelta", {
        ...at,
        itemId: "call_cmd_1",
        delta: "hi\n",
      }),
      ...mapper.map("item/completed", {
        ...at,
        item: {
          type: "commandExecution",
          id: "call_cmd_1",
          command: "echo hi",
          status: "completed",
          aggregatedOutput: "hi\n",
          exitCode: 0,
        },
      }),
      ...mapper.map("thread/tokenUsage/updated", {
        ...at,
        tokenUsage: { total: usage(15, 5), last: usage(15, 5), modelContextWindow: 1000 },
      }),
      ...mapper.map("item/agentMessage/delta", { ...at, itemId: "msg_1", delta: "Hel" }),
      ...mapper.map("item/agentMessage/delta", { ...at, itemId: "msg_1", delta: "lo" }),
      ...mapper.map("item/completed", {
        ...at,
        item: { type: "agentMessage", id: "msg_1", text: "Hello" },
      }),
      ...mapper.map("thread/tokenUsage/updated", {
        ...at,
        tokenUsage: { total: usage(30, 9), last: usage(15, 4), modelContextWindow: 1000 },
      }),
      ...mapper.map("account/rateLimits/updated", { rateLimits: {} }),
      ...mapper.map("turn/completed", {
        threadId: THREAD,
        turn: { id: TURN, status: "completed", error: null },
      }),
    ];
    expect(out).toEqual([
      { kind: "reasoning_delta", itemId: "rs_1", delta: "look" },
      { kind: "reasoning_delta", itemId: "rs_1", delta: "\n\n" },
      { kind: "reasoning_delta", itemId: "rs_1", delta: "then" },
      { kind: "reasoning", itemId: "rs_1", text: "look\n\nthen" },
      {
        kind: "tool",
        itemId: "call_cmd_1",
        phase: "started",
        status: "in_progress",
        detail: {
          type: "command_execution",
          command: "echo hi",
          aggregatedOutput: "",
          exitCode: null,
        },
      },
      { kind: "command_output_delta", itemId: "call_cmd_1", delta: "hi\n" },
      {
        kind: "tool",
        itemId: "call_cmd_1",
        phase: "completed",
        status: "completed",
        detail: {
          type: "command_execution",
          command: "echo hi",
          aggregatedOutput: "hi\n",
          exitCode: 0,
        },
      },
      { kind: "text_delta", itemId: "msg_1", delta: "Hel" },
      { kind: "text_delta", itemId: "msg_1", delta: "lo" },
      { kind: "text", itemId: "msg_1", text: "Hello" },
      {
        kind: "turn_completed",
        usage: {
          input_tokens: 30,
          cached_input_tokens: 0,
          cache_write_input_tokens: 0,
          output_tokens: 9,
          reasoning_output_tokens: 0,
        },
      },
    ]);
    expect(mapper.ended).toBe(true);
  });

  it("checks the sum of the turn's per-request `last` against the growth of codex's total", () => {
    const turn = (mapper: TurnNotificationMapper, last: ReturnType<typeof usage>) => [
      ...mapper.map("thread/tokenUsage/updated", {
        ...at,
        tokenUsage: { total: usage(115, 10), last: usage(10, 5), modelContextWindow: 1000 },
      }),
      ...mapper.map("thread/tokenUsage/updated", {
        ...at,
        tokenUsage: { total: usage(130, 14), last, modelContextWindow: 1000 },
      }),
      ...mapper.map("turn/completed", {
        threadId: THREAD,
        turn: { id: TURN, status: "completed" },
      }),
    ];
    // What codex restored on resume (a CompactThread's usage included): 105 in, 5 out.
    const agreeing = new TurnNotificationMapper();
    agreeing.restored({ total: usage(105, 5), last: usage(0, 0) });
    expect(turn(agreeing, usage(15, 4)).map((event) => event.kind)).toEqual(["turn_completed"]);

    const disagreeing = new TurnNotificationMapper();
    disagreeing.startFrom({
      input_tokens: 105,
      cached_input_tokens: 0,
      cache_write_input_tokens: 0,
      output_tokens: 5,
      reasoning_output_tokens: 0,
    });
    const events = turn(disagreeing, usage(15, 5));
    expect(events.map((event) => event.kind)).toEqual(["turn_completed", "drift"]);
    expect(events[1]).toMatchObject({
      drift: "usage_sum_mismatch",
      sample: JSON.stringify("output_tokens 10 summed, total grew 9"),
    });

    // Without a known start (a resume whose restored usage was not seen), nothing is checked.
    expect(turn(new TurnNotificationMapper(), usage(1, 1)).map((e) => e.kind)).toEqual([
      "turn_completed",
    ]);
  });

  it("turns retry notices into `retrying` and classifies a failed turn from codexErrorInfo", () => {
    const mapper = new TurnNotificationMapper({ now: () => new Date(0) });
    const info = { responseTooManyFailedAttempts: { httpStatusCode: 429 } };
    const retry = mapper.map("error", {
      ...at,
      error: { message: "Reconnecting... 1/5", codexErrorInfo: null },
      willRetry: true,
    });
    expect(retry).toEqual([{ kind: "notice", notice: "retrying", message: "Reconnecting... 1/5" }]);
    expect(mapper.lastRetryMessage).toBe("Reconnecting... 1/5");
    const message = "exceeded retry limit, last status: 429 Too Many Requests";
    expect(
      mapper.map("error", { ...at, error: { message, codexErrorInfo: info }, willRetry: false }),
    ).toEqual([]);
    const [failed] = mapper.map("turn/completed", {
      threadId: THREAD,
      turn: { id: TURN, status: "failed", error: { message, codexErrorInfo: info } },
    });
    expect(failed).toMatchObject({
      kind: "turn_failed",
      error: { code: "CODEX_RATE_LIMITED", class: "rate_limited" },
    });
    expect(mapper.lastFatalMessage).toBe(message);
  });

  it("reports nothing for an interrupted turn (the stop cause decides) and passes unknowns through", () => {
    const mapper = new TurnNotificationMapper();
    expect(
      mapper.map("turn/completed", { threadId: THREAD, turn: { id: TURN, status: "interrupted" } }),
    ).toEqual([]);
    const unknown = mapper.map("item/teleport/delta", { ...at, itemId: "x" });
    expect(unknown.map((event) => event.kind)).toEqual(["passthrough", "drift"]);
    const item = mapper.map("item/completed", { ...at, item: { type: "hologram", id: "h1" } });
    expect(item.map((event) => event.kind)).toEqual(["passthrough", "drift"]);
    expect(mapper.map("item/completed", { ...at, item: { type: "userMessage", id: "u" } })).toEqual(
      [],
    );
  });

  it("reports the update_plan tool as exec's todo_list: started, updated, completed at the end", () => {
    const mapper = new TurnNotificationMapper();
    const plan = (status: string) => ({
      ...at,
      explanation: null,
      plan: [{ step: "read", status }],
    });
    const events = [
      ...mapper.map("turn/plan/updated", plan("inProgress")),
      ...mapper.map("turn/plan/updated", plan("completed")),
      ...mapper.map("turn/completed", {
        threadId: THREAD,
        turn: { id: TURN, status: "completed" },
      }),
    ];
    expect(events.map((event) => (event.kind === "tool" ? event.phase : event.kind))).toEqual([
      "started",
      "updated",
      "completed",
      "turn_completed",
    ]);
  });
});
