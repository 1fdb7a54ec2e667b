import { describe, expect, it } from "vitest";

import {
  applyPatchCommand,
  closeEarly,
  contextLengthExceeded,
  execCommand,
  functionCall,
  hang,
  httpError,
  newCallId,
  rateLimited,
  respond,
  textReply,
} from "../../../../internal/mock-model/reply-builders.js";

describe("reply builders", () => {
  it("encodes exec_command arguments as a JSON string", () => {
    expect(execCommand("ls -la", { callId: "call_x", extraArgs: { yield_time_ms: 500 } })).toEqual({
      type: "function_call",
      name: "exec_command",
      arguments: '{"cmd":"ls -la","login":false,"yield_time_ms":500}',
      call_id: "call_x",
    });
  });

  it("sends string arguments unchanged and keeps a namespace", () => {
    expect(
      functionCall({ name: "echo", args: '{"a":1}', callId: "c", namespace: "mcp__srv" }),
    ).toEqual({
      type: "function_call",
      name: "echo",
      arguments: '{"a":1}',
      call_id: "c",
      namespace: "mcp__srv",
    });
  });

  it("makes distinct call ids in the API's call_ shape", () => {
    const a = newCallId();
    const b = newCallId();
    expect(a).toMatch(/^call_[0-9a-f]{24}$/);
    expect(a).not.toBe(b);
  });

  it("wraps a patch in an apply_patch heredoc command", () => {
    const item = applyPatchCommand("*** Begin Patch\n*** End Patch", { callId: "p" });
    expect(item.type).toBe("function_call");
    const args = JSON.parse(item.type === "function_call" ? item.arguments : "{}") as {
      cmd: string;
    };
    expect(args.cmd).toBe("apply_patch <<'PATCH'\n*** Begin Patch\n*** End Patch\nPATCH");
  });

  it("builds responses from one or several items with usage", () => {
    expect(textReply("hi", { usage: { inputTokens: 3 } })).toEqual({
      kind: "response",
      items: [{ type: "message", text: "hi" }],
      usage: { inputTokens: 3 },
    });
    const call = execCommand("true", { callId: "c" });
    expect(respond([call, call]).items).toHaveLength(2);
  });

  it("JSON-encodes object error bodies with a JSON content type", () => {
    expect(httpError(418, { error: { message: "teapot" } }, { "x-a": "1" })).toEqual({
      kind: "http-error",
      status: 418,
      body: '{"error":{"message":"teapot"}}',
      headers: { "content-type": "application/json", "x-a": "1" },
    });
    expect(httpError(502, "bad gateway")).toEqual({
      kind: "http-error",
      status: 502,
      body: "bad gateway",
      headers: {},
    });
  });

  it("adds Retry-After only when asked", () => {
    expect(rateLimited(2).headers).toMatchObject({ "retry-after": "2" });
    expect(rateLimited().headers).not.toHaveProperty("retry-after");
    expect(JSON.parse(contextLengthExceeded().body)).toMatchObject({
      error: { code: "context_length_exceeded" },
    });
  });

  it("defaults hang to before-headers and close-early to no items", () => {
    expect(hang()).toEqual({ kind: "hang", afterHeaders: false });
    expect(closeEarly()).toEqual({ kind: "close-early", items: [] });
  });
});
