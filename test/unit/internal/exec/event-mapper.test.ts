import { describe, expect, it } from "vitest";

import {
  CodexEventMapper,
  type MapperOutput,
  toUsage,
} from "../../../../internal/exec/event-mapper.js";
import type { SplitLine } from "../../../../internal/jsonl/line-splitter.js";

let lineNumber = 0;
function line(value: unknown): SplitLine {
  lineNumber += 1;
  return {
    kind: "line",
    lineNumber,
    text: typeof value === "string" ? value : JSON.stringify(value),
  };
}

function events(outputs: MapperOutput[]): unknown[] {
  return outputs;
}

function mapAll(mapper: CodexEventMapper, values: unknown[]): unknown[] {
  return values.flatMap((value) => events(mapper.mapLine(line(value))));
}

describe("CodexEventMapper", () => {
  it("reports thread.started and ignores turn.started", () => {
    const mapper = new CodexEventMapper();
    expect(
      mapAll(mapper, [{ type: "thread.started", thread_id: "t-1" }, { type: "turn.started" }]),
    ).toEqual([{ kind: "thread_started", threadId: "t-1" }]);
  });

  it("maps agent messages to text and reasoning to reasoning, tracking the final text", () => {
    const mapper = new CodexEventMapper();
    const out = mapAll(mapper, [
      { type: "item.completed", item: { id: "item_0", type: "reasoning", text: "hmm" } },
      { type: "item.completed", item: { id: "item_1", type: "agent_message", text: "first" } },
      { type: "item.completed", item: { id: "item_2", type: "agent_message", text: "second" } },
    ]);
    expect(out).toEqual([
      { kind: "reasoning", itemId: "item_0", text: "hmm" },
      { kind: "text", itemId: "item_1", text: "first" },
      { kind: "text", itemId: "item_2", text: "second" },
    ]);
    expect(mapper.finalText).toBe("second");
  });

  it("drops agent_message copies re-emitted by stream retries, but not a repeat after a tool call", () => {
    const mapper = new CodexEventMapper();
    const retryCopies = [1, 2, 3].flatMap((attempt) => [
      {
        type: "item.completed",
        item: { id: `item_${attempt}`, type: "agent_message", text: "partial" },
      },
      {
        type: "error",
        message: `Reconnecting... ${attempt}/5 (stream disconnected before completion)`,
      },
    ]);
    const out = mapAll(mapper, [
      ...retryCopies,
      {
        type: "item.started",
        item: {
          id: "item_9",
          type: "command_execution",
          command: "ls",
          aggregated_output: "",
          exit_code: null,
          status: "in_progress",
        },
      },
      { type: "item.completed", item: { id: "item_10", type: "agent_message", text: "partial" } },
    ]);
    const texts = out.filter((event) => (event as { kind?: string }).kind === "text");
    expect(texts).toEqual([
      { kind: "text", itemId: "item_1", text: "partial" },
      { kind: "text", itemId: "item_10", text: "partial" },
    ]);
  });

  it("treats Reconnecting... errors as retry notices and remembers other top-level errors", () => {
    const mapper = new CodexEventMapper();
    const out = mapAll(mapper, [
      {
        type: "error",
        message: "Reconnecting... waiting for network (Connection failed: error sending request)",
      },
      { type: "error", message: "Quota exceeded. Check your plan and billing details." },
    ]);
    expect(out).toEqual([
      {
        kind: "notice",
        notice: "retrying",
        message: "Reconnecting... waiting for network (Connection failed: error sending request)",
      },
    ]);
    expect(mapper.lastFatalMessage).toBe("Quota exceeded. Check your plan and billing details.");
  });

  it("classifies turn.failed, falling back to the last fatal error text", () => {
    const mapper = new CodexEventMapper();
    expect(
      mapAll(mapper, [
        {
          type: "turn.failed",
          error: { message: "Quota exceeded. Check your plan and billing details." },
        },
      ]),
    ).toEqual([
      {
        kind: "turn_failed",
        error: expect.objectContaining({ class: "quota_exhausted", retryable: false }),
      },
    ]);
    mapAll(mapper, [
      { type: "error", message: "exceeded retry limit, last status: 429 Too Many Requests" },
    ]);
    expect(mapAll(mapper, [{ type: "turn.failed", error: {} }])).toEqual([
      {
        kind: "turn_failed",
        error: expect.objectContaining({ class: "rate_limited", retryable: true }),
      },
    ]);
  });

  it("maps tool items with their phase and status", () => {
    const mapper = new CodexEventMapper();
    const out = mapAll(mapper, [
      {
        type: "item.started",
        item: {
          id: "item_1",
          type: "command_execution",
          command: "/bin/bash -lc 'ls'",
          aggregated_output: "",
          exit_code: null,
          status: "in_progress",
        },
      },
      {
        type: "item.completed",
        item: {
          id: "item_1",
          type: "command_execution",
          command: "/bin/bash -lc 'ls'",
          aggregated_output: "a\n",
          exit_code: 2,
          status: "failed",
        },
      },
      {
        type: "item.completed",
        item: {
          id: "item_2",
          type: "mcp_tool_call",
          server: "srv",
          tool: "t",
          arguments: { a: 1 },
          result: null,
          error: { message: "MCP tool call requires approval" },
          status: "failed",
        },
      },
      {
        type: "item.updated",
        item: {
          id: "item_3",
          type: "file_change",
          changes: [{ path: "/w/a.txt", kind: "add" }],
          status: "in_progress",
        },
      },
      {
        type: "item.updated",
        item: {
          id: "item_4",
          type: "todo_list",
          items: [{ text: "plan", completed: true }, { text: "do" }],
        },
      },
      {
        type: "item.started",
        item: {
          id: "item_5",
          type: "collab_tool_call",
          tool: "spawn_agent",
          status: "in_progress",
        },
      },
    ]);
    expect(out).toEqual([
      {
        kind: "tool",
        itemId: "item_1",
        phase: "started",
        status: "in_progress",
        detail: {
          type: "command_execution",
          command: "/bin/bash -lc 'ls'",
          aggregatedOutput: "",
          exitCode: null,
        },
      },
      {
        kind: "tool",
        itemId: "item_1",
        phase: "completed",
        status: "failed",
        detail: {
          type: "command_execution",
          command: "/bin/bash -lc 'ls'",
          aggregatedOutput: "a\n",
          exitCode: 2,
        },
      },
      {
        kind: "tool",
        itemId: "item_2",
        phase: "completed",
        status: "failed",
        detail: {
          type: "mcp_tool_call",
          server: "srv",
          tool: "t",
          argumentsJson: '{"a":1}',
          resultJson: "",
          error: "MCP tool call requires approval",
        },
      },
      {
        kind: "tool",
        itemId: "item_3",
        phase: "updated",
        status: "in_progress",
        detail: { type: "file_change", changes: [{ path: "/w/a.txt", kind: "add" }] },
      },
      {
        kind: "tool",
        itemId: "item_4",
        phase: "updated",
        status: "in_progress",
        detail: {
          type: "todo_list",
          items: [
            { text: "plan", completed: true },
            { text: "do", completed: false },
          ],
        },
      },
      {
        kind: "tool",
        itemId: "item_5",
        phase: "started",
        status: "in_progress",
        detail: {
          type: "collab_tool_call",
          tool: "spawn_agent",
          rawJson:
            '{"id":"item_5","type":"collab_tool_call","tool":"spawn_agent","status":"in_progress"}',
        },
      },
    ]);
  });

  it("keeps exec's item id for web_search lines that carry a second raw id", () => {
    const mapper = new CodexEventMapper();
    // Written by hand: JSON.stringify cannot produce the duplicate key codex prints.
    const raw =
      '{"type":"item.completed","item":{"id":"item_7","type":"web_search","id":"ws_abc123","query":"codex cli","action":{"type":"search","query":"codex cli"}}}';
    expect(events(mapper.mapLine(line(raw)))).toEqual([
      {
        kind: "tool",
        itemId: "item_7",
        phase: "completed",
        status: "completed",
        detail: {
          type: "web_search",
          query: "codex cli",
          actionJson: '{"type":"search","query":"codex cli"}',
        },
      },
    ]);
  });

  it("turns item-level errors into warnings", () => {
    const mapper = new CodexEventMapper();
    const out = mapAll(mapper, [
      {
        type: "item.completed",
        item: {
          id: "item_0",
          type: "error",
          message: "Codex is ignoring 1 unrecognized configuration setting",
        },
      },
    ]);
    expect(out).toEqual([
      {
        kind: "notice",
        notice: "warning",
        message: "Codex is ignoring 1 unrecognized configuration setting",
      },
    ]);
  });

  it("passes unknown event and item types through untouched, and says they are drift", () => {
    const mapper = new CodexEventMapper();
    const unknownEvent = '{"type":"item.plan.delta","item_id":"item_1","delta":"x"}';
    const unknownItem =
      '{"type":"item.completed","item":{"id":"item_2","type":"image_generation","url":"u"}}';
    expect(events(mapper.mapLine(line(unknownEvent)))).toEqual([
      { kind: "passthrough", type: "item.plan.delta", rawJson: unknownEvent },
      { kind: "drift", drift: "unknown_event_type", sample: unknownEvent },
    ]);
    expect(events(mapper.mapLine(line(unknownItem)))).toEqual([
      { kind: "passthrough", type: "item.completed:image_generation", rawJson: unknownItem },
      { kind: "drift", drift: "unknown_item_type", sample: unknownItem },
    ]);
    expect(events(mapper.mapLine(line('{"no_type":true}')))).toEqual([
      { kind: "passthrough", type: "unknown", rawJson: '{"no_type":true}' },
      { kind: "drift", drift: "unknown_event_type", sample: '{"no_type":true}' },
    ]);
  });

  it("reports a thread.started without a thread id, and usage without every counter, as drift", () => {
    const mapper = new CodexEventMapper();
    const noThread = '{"type":"thread.started"}';
    expect(events(mapper.mapLine(line(noThread)))).toEqual([
      { kind: "drift", drift: "thread_id_missing", sample: noThread },
    ]);
    const partial = '{"type":"turn.completed","usage":{"input_tokens":5,"output_tokens":2}}';
    expect(events(mapper.mapLine(line(partial)))).toEqual([
      { kind: "turn_completed", usage: expect.objectContaining({ input_tokens: 5 }) as unknown },
      { kind: "drift", drift: "usage_fields_missing", sample: partial },
    ]);
    const full = {
      type: "turn.completed",
      usage: {
        input_tokens: 5,
        cached_input_tokens: 0,
        cache_write_input_tokens: 0,
        output_tokens: 2,
        reasoning_output_tokens: 0,
      },
    };
    expect(
      events(mapper.mapLine(line(full))).map((event) => (event as { kind: string }).kind),
    ).toEqual(["turn_completed"]);
  });

  it("warns about malformed, non-object and oversize lines and keeps going", () => {
    const mapper = new CodexEventMapper();
    const out = [
      ...events(mapper.mapLine(line('{"type":"thread.start'))),
      ...events(mapper.mapLine(line("[1,2]"))),
      ...events(mapper.mapLine({ kind: "oversize", lineNumber: 99, bytes: 123_456_789 })),
      ...events(mapper.mapLine(line({ type: "thread.started", thread_id: "t-2" }))),
    ];
    expect(out).toEqual([
      { kind: "notice", notice: "warning", message: expect.stringContaining("not JSON") },
      { kind: "notice", notice: "warning", message: expect.stringContaining("not an object") },
      { kind: "notice", notice: "warning", message: expect.stringContaining("123456789 bytes") },
      { kind: "thread_started", threadId: "t-2" },
    ]);
  });

  it("reports cumulative usage from turn.completed", () => {
    const mapper = new CodexEventMapper();
    expect(
      mapAll(mapper, [
        {
          type: "turn.completed",
          usage: {
            input_tokens: 20,
            cached_input_tokens: 5,
            cache_write_input_tokens: 1,
            output_tokens: 7,
            reasoning_output_tokens: 3,
          },
        },
      ]),
    ).toEqual([
      {
        kind: "turn_completed",
        usage: {
          input_tokens: 20,
          cached_input_tokens: 5,
          cache_write_input_tokens: 1,
          output_tokens: 7,
          reasoning_output_tokens: 3,
        },
      },
    ]);
  });
});

describe("toUsage", () => {
  it("fills missing and non-numeric fields with 0", () => {
    expect(toUsage({ input_tokens: 4, output_tokens: Number.NaN })).toEqual({
      input_tokens: 4,
      cached_input_tokens: 0,
      cache_write_input_tokens: 0,
      output_tokens: 0,
      reasoning_output_tokens: 0,
    });
    expect(toUsage(undefined).input_tokens).toBe(0);
  });
});
