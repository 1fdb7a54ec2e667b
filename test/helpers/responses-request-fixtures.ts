// Builds RecordedRequest values shaped like the POST /responses bodies codex 0.169.0 sends
// (see docs/codex-0.169.0-observed.md), for script and helper tests without a server.
import type { RecordedRequest } from "../../internal/mock-model/recorded-request.js";

/** A user-role message item as codex sends it. */
export function userItem(text: string): Record<string, unknown> {
  return { type: "message", role: "user", content: [{ type: "input_text", text }] };
}

/** An assistant message item as codex replays it from history. */
export function assistantItem(text: string): Record<string, unknown> {
  return {
    type: "message",
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text, annotations: [] }],
  };
}

/** The context block codex injects as a user message before the first prompt. */
export const ENVIRONMENT_CONTEXT = userItem(
  "<environment_context>\n  <cwd>/tmp/w</cwd>\n  <shell>bash</shell>\n</environment_context>",
);

/** A developer message like codex's base instructions. */
export const DEVELOPER_ITEM = {
  type: "message",
  role: "developer",
  content: [{ type: "input_text", text: "You are Codex." }],
};

/** A function_call item replayed from history. */
export function functionCallItem(callId: string, cmd: string): Record<string, unknown> {
  return {
    type: "function_call",
    name: "exec_command",
    arguments: JSON.stringify({ cmd }),
    call_id: callId,
  };
}

/** A function_call_output for exec_command, with codex's header before the output. */
export function commandOutputItem(callId: string, output: string): Record<string, unknown> {
  return {
    type: "function_call_output",
    call_id: callId,
    output: `Chunk ID: abc123\nWall time: 0.0040 seconds\nProcess exited with code 0\nOriginal token count: 3\nOutput:\n${output}`,
  };
}

/** A RecordedRequest for POST /v1/responses with the given input items. */
export function responsesRequest(input: readonly unknown[], seq = 0): RecordedRequest {
  const body = { model: "gpt-test", stream: true, input };
  return {
    seq,
    method: "POST",
    path: "/v1/responses",
    query: "",
    headers: { "content-type": "application/json" },
    body,
    rawBody: JSON.stringify(body),
    receivedAt: 0,
  };
}
