import { describe, expect, it } from "vitest";

import {
  customToolCall,
  execCommand,
  message,
  rawItem,
  reasoning,
} from "../../../../internal/mock-model/reply-builders.js";
import type { ResponseMeta } from "../../../../internal/mock-model/sse.js";
import {
  completedStreamEvents,
  DEFAULT_USAGE,
  failedStreamEvents,
  formatSseEvent,
  incompleteStreamEvents,
  splitIntoDeltas,
  toWireUsage,
} from "../../../../internal/mock-model/sse.js";
import { parseSse } from "../../../helpers/parse-sse.js";

const meta: ResponseMeta = { id: "resp_mock7", model: "gpt-test", createdAt: 1_700_000_000 };

function types(events: readonly { type: string }[]): string[] {
  return events.map((event) => event.type);
}

describe("formatSseEvent", () => {
  it("writes one event line, one data line with type and sequence_number, and a blank line", () => {
    const text = formatSseEvent({ type: "response.created", data: { response: { id: "r" } } }, 3);
    expect(text).toBe(
      'event: response.created\ndata: {"type":"response.created","sequence_number":3,"response":{"id":"r"}}\n\n',
    );
  });

  it("keeps newlines inside values escaped, so one data line always suffices", () => {
    const text = formatSseEvent({ type: "x", data: { text: "a\nb\r\n" } }, 0);
    expect(text.split("\n")).toHaveLength(4);
    expect(parseSse(text)[0]?.data["text"]).toBe("a\nb\r\n");
  });
});

describe("toWireUsage", () => {
  it("fills defaults and computes total_tokens = input + output", () => {
    expect(toWireUsage()).toEqual({
      input_tokens: DEFAULT_USAGE.inputTokens,
      input_tokens_details: { cached_tokens: DEFAULT_USAGE.cachedTokens },
      output_tokens: DEFAULT_USAGE.outputTokens,
      output_tokens_details: { reasoning_tokens: DEFAULT_USAGE.reasoningTokens },
      total_tokens: DEFAULT_USAGE.inputTokens + DEFAULT_USAGE.outputTokens,
    });
  });

  it("passes every configured number through, cache writes only when set", () => {
    expect(
      toWireUsage({
        inputTokens: 100,
        cachedTokens: 40,
        cacheWriteTokens: 7,
        outputTokens: 9,
        reasoningTokens: 3,
      }),
    ).toEqual({
      input_tokens: 100,
      input_tokens_details: { cached_tokens: 40, cache_write_tokens: 7 },
      output_tokens: 9,
      output_tokens_details: { reasoning_tokens: 3 },
      total_tokens: 109,
    });
  });
});

describe("splitIntoDeltas", () => {
  it("splits long text into several non-empty chunks that join back", () => {
    const text = "The quick brown fox jumps over the lazy dog, twice: the quick brown fox.";
    const deltas = splitIntoDeltas(text);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.every((delta) => delta.length > 0)).toBe(true);
    expect(deltas.join("")).toBe(text);
  });

  it("yields nothing for empty text", () => {
    expect(splitIntoDeltas("")).toEqual([]);
  });
});

describe("completedStreamEvents", () => {
  it("streams a message as added, content part, deltas, done, and ends with usage", () => {
    const text = "Hello there, this reply is long enough to need deltas.";
    const events = completedStreamEvents(meta, [message(text)], { inputTokens: 12 });
    const names = types(events);
    expect(names.slice(0, 4)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
    ]);
    expect(names.slice(-4)).toEqual([
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const deltas = events
      .filter((event) => event.type === "response.output_text.delta")
      .map((event) => event.data["delta"]);
    expect(deltas.join("")).toBe(text);

    const done = events.find((event) => event.type === "response.output_item.done");
    expect(done?.data).toEqual({
      output_index: 0,
      item: {
        type: "message",
        id: "msg_mock7_0",
        status: "completed",
        role: "assistant",
        content: [{ type: "output_text", text, annotations: [] }],
      },
    });
    const completed = events.at(-1)?.data["response"] as Record<string, unknown>;
    expect(completed["id"]).toBe("resp_mock7");
    expect(completed["status"]).toBe("completed");
    expect(completed["model"]).toBe("gpt-test");
    expect(completed["output"]).toEqual([done?.data["item"]]);
    expect((completed["usage"] as Record<string, unknown>)["input_tokens"]).toBe(12);
  });

  it("streams a function call's arguments and keeps its call_id", () => {
    const call = execCommand("echo hi", { callId: "call_1" });
    const events = completedStreamEvents(meta, [call]);
    const added = events.find((event) => event.type === "response.output_item.added");
    expect(added?.data["item"]).toMatchObject({
      type: "function_call",
      call_id: "call_1",
      name: "exec_command",
      arguments: "",
      status: "in_progress",
    });
    const argsDone = events.find((event) => event.type === "response.function_call_arguments.done");
    expect(argsDone?.data["arguments"]).toBe('{"cmd":"echo hi","login":false}');
    const done = events.find((event) => event.type === "response.output_item.done");
    expect(done?.data["item"]).toEqual({
      type: "function_call",
      id: "fc_mock7_0",
      status: "completed",
      call_id: "call_1",
      name: "exec_command",
      arguments: '{"cmd":"echo hi","login":false}',
    });
  });

  it("numbers several items by output_index and streams reasoning summaries", () => {
    const events = completedStreamEvents(meta, [
      reasoning(["first thought", "second thought"]),
      customToolCall({ name: "apply_patch", input: "*** Begin Patch", callId: "c2" }),
      rawItem({ type: "web_search_call", id: "ws_1", status: "completed" }),
    ]);
    const doneItems = events
      .filter((event) => event.type === "response.output_item.done")
      .map((event) => [event.data["output_index"], (event.data["item"] as { id: string }).id]);
    expect(doneItems).toEqual([
      [0, "rs_mock7_0"],
      [1, "ctc_mock7_1"],
      [2, "ws_1"],
    ]);
    const summaryDone = events
      .filter((event) => event.type === "response.reasoning_summary_text.done")
      .map((event) => [event.data["summary_index"], event.data["text"]]);
    expect(summaryDone).toEqual([
      [0, "first thought"],
      [1, "second thought"],
    ]);
    expect(types(events)).toContain("response.custom_tool_call_input.done");
  });
});

describe("terminal events", () => {
  it("ends a failed stream with response.failed carrying the error", () => {
    const events = failedStreamEvents(meta, "server_error", "boom");
    expect(types(events)).toEqual(["response.created", "response.in_progress", "response.failed"]);
    expect(events.at(-1)?.data["response"]).toMatchObject({
      status: "failed",
      error: { code: "server_error", message: "boom" },
    });
  });

  it("ends an incomplete stream with the reason", () => {
    const events = incompleteStreamEvents(meta, "max_output_tokens");
    expect(events.at(-1)?.type).toBe("response.incomplete");
    expect(events.at(-1)?.data["response"]).toMatchObject({
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" },
    });
  });
});
