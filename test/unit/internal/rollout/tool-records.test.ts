import { describe, expect, it } from "vitest";

import type { CanonicalEvent } from "../../../../internal/core/canonical-event.js";
import { parseRolloutLine } from "../../../../internal/rollout/rollout-line.js";
import { outputOf, ToolRecordExtractor } from "../../../../internal/rollout/tool-records.js";
import { fixtureBytes, splitLines } from "./rollout-fixtures.js";

async function eventsOfFixture(name: string): Promise<CanonicalEvent[]> {
  const extractor = new ToolRecordExtractor();
  const events: CanonicalEvent[] = [];
  for (const text of splitLines((await fixtureBytes(name)).toString("utf8"))) {
    const line = parseRolloutLine(text);
    if (line !== undefined) events.push(...extractor.eventsOf(line));
  }
  return events;
}

describe("ToolRecordExtractor", () => {
  it("reports every call and output with codex's real call ids, in file order", async () => {
    const events = await eventsOfFixture("basic.jsonl");
    expect(events.map((event) => [event.kind, "callId" in event ? event.callId : ""])).toEqual([
      ["tool_call", "call_sh_1"],
      ["tool_result", "call_sh_1"],
      ["tool_call", "call_mcp_1"],
      ["tool_result", "call_mcp_1"],
      ["tool_call", "call_patch_1"],
      ["tool_result", "call_patch_1"],
      ["tool_call", "call_code_1"],
      ["tool_call", "exec-3fffe40c-99e5-4321-a410-d3b8fc174cfe"],
      ["tool_result", "exec-3fffe40c-99e5-4321-a410-d3b8fc174cfe"],
      ["tool_call", "exec-50c44a1d-4642-4bc0-a1fb-2f26f7357f1b"],
      ["tool_result", "exec-50c44a1d-4642-4bc0-a1fb-2f26f7357f1b"],
      ["tool_result", "call_code_1"],
    ]);
  });

  it("keeps name, namespace, arguments and kind of each call", async () => {
    const calls = (await eventsOfFixture("basic.jsonl")).filter(
      (event) => event.kind === "tool_call",
    );
    expect(calls[0]).toEqual({
      kind: "tool_call",
      callId: "call_sh_1",
      name: "exec_command",
      namespace: "",
      arguments: '{"cmd":"echo hi","login":false}',
      callKind: "function_call",
    });
    expect(calls[1]).toMatchObject({
      name: "search",
      namespace: "mcp__docs",
      arguments: '{"q":"zstd"}',
      callKind: "function_call",
    });
    expect(calls[2]).toMatchObject({
      name: "apply_patch",
      arguments: "*** Begin Patch\n*** Add File: b.txt\n+B\n*** End Patch",
      callKind: "custom_tool_call",
    });
    expect(calls[3]).toMatchObject({ name: "exec", callKind: "custom_tool_call" });
    expect(calls[4]).toMatchObject({
      name: "exec_command",
      callKind: "nested",
      arguments: JSON.stringify({ command: ["/bin/bash", "-c", "echo nested-out"] }),
    });
    expect(calls[5]).toMatchObject({ name: "apply_patch", callKind: "nested" });
  });

  it("gives string outputs as text and content-item arrays as text plus JSON", async () => {
    const results = (await eventsOfFixture("basic.jsonl")).filter(
      (event) => event.kind === "tool_result",
    );
    expect(results[0]).toEqual({
      kind: "tool_result",
      callId: "call_sh_1",
      output:
        "Chunk ID: 137436\nWall time: 0.0000 seconds\nProcess exited with code 0\n" +
        "Original token count: 1\nOutput:\nhi\n",
      outputJson: "",
    });
    expect(results[1]?.kind === "tool_result" && results[1].output).toBe(
      "Wall time: 0.1 seconds\nOutput:\nzstd is a compressor\n[image]",
    );
    expect(JSON.parse(results[1]?.kind === "tool_result" ? results[1].outputJson : "")).toEqual([
      { type: "input_text", text: "Wall time: 0.1 seconds\nOutput:" },
      { type: "input_text", text: "zstd is a compressor" },
      { type: "input_image", image_url: "data:image/png;base64,AAAA" },
    ]);
    // The nested command's own output comes from its item_completed record.
    expect(results[3]).toMatchObject({ output: "nested-out\n" });
  });

  it("does not report top-level calls twice through their item_completed records", async () => {
    const ids = (await eventsOfFixture("basic.jsonl"))
      .filter((event) => event.kind === "tool_call")
      .map((event) => (event.kind === "tool_call" ? event.callId : ""));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("recognises nested calls by codex's exec- prefix even without the exec call in view", () => {
    const extractor = new ToolRecordExtractor();
    const events = extractor.eventsOf({
      type: "event_msg",
      payload: {
        type: "item_completed",
        item: {
          type: "McpToolCall",
          id: "exec-1",
          server: "docs",
          tool: "search",
          arguments: { q: 1 },
          result: { content: [{ type: "text", text: "found" }] },
        },
      },
    });
    expect(events).toEqual([
      {
        kind: "tool_call",
        callId: "exec-1",
        name: "search",
        namespace: "mcp__docs",
        arguments: '{"q":1}',
        callKind: "nested",
      },
      {
        kind: "tool_result",
        callId: "exec-1",
        output: "found",
        outputJson: expect.stringContaining('"McpToolCall"') as unknown as string,
      },
    ]);
    // Without code mode and without the prefix, an item_completed is the UI view of a known call.
    expect(
      extractor.eventsOf({
        type: "event_msg",
        payload: { type: "item_completed", item: { type: "CommandExecution", id: "call_x" } },
      }),
    ).toEqual([]);
  });

  it("does not take the UI record of a call-less item (web search) for a nested call", () => {
    const extractor = new ToolRecordExtractor();
    extractor.eventsOf({
      type: "response_item",
      payload: { type: "custom_tool_call", name: "exec", input: "", call_id: "call_code" },
    });
    extractor.eventsOf({
      type: "response_item",
      payload: { type: "web_search_call", id: "ws_1", action: { type: "search", query: "q" } },
    });
    expect(
      extractor.eventsOf({
        type: "event_msg",
        payload: { type: "item_completed", item: { type: "WebSearch", id: "ws_1" } },
      }),
    ).toEqual([]);
  });

  it("skips lines it does not model", () => {
    const extractor = new ToolRecordExtractor();
    for (const type of ["world_state", "turn_context", "token_usage_record", "future_thing"]) {
      expect(
        extractor.eventsOf({ type, payload: { call_id: "x", type: "function_call" } }),
      ).toEqual([]);
    }
    expect(
      extractor.eventsOf({ type: "response_item", payload: { type: "function_call", name: "x" } }),
    ).toEqual([]);
  });
});

describe("outputOf", () => {
  it("handles strings, arrays, objects and nothing", () => {
    expect(outputOf("plain")).toEqual({ output: "plain", outputJson: "" });
    expect(outputOf([{ type: "input_text", text: "a" }, { other: 1 }])).toEqual({
      output: 'a\n{"other":1}',
      outputJson: '[{"type":"input_text","text":"a"},{"other":1}]',
    });
    expect(outputOf({ content: "x" })).toEqual({
      output: '{"content":"x"}',
      outputJson: '{"content":"x"}',
    });
    expect(outputOf(undefined)).toEqual({ output: "", outputJson: "" });
  });
});
