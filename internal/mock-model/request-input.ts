// Read-only views of a recorded POST /responses body (`input` items), for scripts and assertions.
// The body is untrusted JSON, so every accessor checks shapes instead of casting.
import type { JsonObject, RecordedRequest } from "./recorded-request.js";

/** The `input` array of a Responses request; [] when absent or malformed. */
export function inputItems(request: RecordedRequest): JsonObject[] {
  const input = request.body?.["input"];
  return Array.isArray(input) ? input.filter(isObject) : [];
}

/** A message item's text parts (input_text / output_text) joined with "". */
export function messageText(item: JsonObject): string {
  const content = item["content"];
  if (typeof content === "string") {
    return content;
  }
  if (!Array.isArray(content)) {
    return "";
  }
  return content
    .filter(isObject)
    .map((part) => (typeof part["text"] === "string" ? part["text"] : ""))
    .join("");
}

/** Text of every `role` message in `input`, oldest first. */
export function messageTexts(
  request: RecordedRequest,
  role: "user" | "assistant" | "developer",
): string[] {
  return inputItems(request)
    .filter((item) => item["type"] === "message" && item["role"] === role)
    .map(messageText);
}

/**
 * What the user typed, oldest first: user messages minus the context blocks codex injects as
 * user-role messages (`<environment_context>…`, AGENTS.md instructions and the like).
 */
export function userPrompts(request: RecordedRequest): string[] {
  return messageTexts(request, "user").filter((text) => !isHarnessText(text));
}

/** The latest user prompt, or undefined when the request has none. */
export function lastUserPrompt(request: RecordedRequest): string | undefined {
  return userPrompts(request).at(-1);
}

/** A function_call_output or custom_tool_call_output with its output flattened to text. */
export interface ToolOutput {
  readonly type: "function_call_output" | "custom_tool_call_output";
  readonly callId: string;
  /** String outputs as given; content-item arrays joined with "\n". */
  readonly output: string;
}

/** Every tool output in `input`, oldest first. */
export function toolOutputs(request: RecordedRequest): ToolOutput[] {
  const outputs: ToolOutput[] = [];
  for (const item of inputItems(request)) {
    const type = item["type"];
    const callId = item["call_id"];
    if (
      (type === "function_call_output" || type === "custom_tool_call_output") &&
      typeof callId === "string"
    ) {
      outputs.push({ type, callId, output: flattenOutput(item["output"]) });
    }
  }
  return outputs;
}

/** The output codex sent back for `callId`, or undefined. */
export function toolOutputFor(request: RecordedRequest, callId: string): ToolOutput | undefined {
  return toolOutputs(request).find((output) => output.callId === callId);
}

/**
 * The start of the prompt codex sends when it compacts a thread itself (any provider but OpenAI's
 * own): one ordinary request whose last input is a user message with this text, answered by the
 * summary (codex-rs/core/templates/compact/prompt.md; the same in codex 0.148.0 to 0.171.0).
 */
export const COMPACTION_PROMPT_START = "You are performing a CONTEXT CHECKPOINT COMPACTION.";

/** True for codex's summarisation request of a compaction (CompactThread, auto-compaction). */
export function isCompactionRequest(request: RecordedRequest): boolean {
  const last = lastInputItem(request);
  return (
    last?.["type"] === "message" &&
    last["role"] === "user" &&
    messageText(last).startsWith(COMPACTION_PROMPT_START)
  );
}

/** The last `input` item, which tells a script whether it is answering a tool result. */
export function lastInputItem(request: RecordedRequest): JsonObject | undefined {
  return inputItems(request).at(-1);
}

/**
 * The command's own output inside an exec_command result. codex prefixes it with a header
 * (Chunk ID, Wall time, exit code, token count) that ends in an "Output:" line.
 */
export function commandOutputText(output: string): string {
  const marker = "\nOutput:\n";
  const at = output.indexOf(marker);
  return at === -1 ? output : output.slice(at + marker.length);
}

function flattenOutput(output: unknown): string {
  if (typeof output === "string") {
    return output;
  }
  if (Array.isArray(output)) {
    return output
      .filter(isObject)
      .map((part) => (typeof part["text"] === "string" ? part["text"] : ""))
      .join("\n");
  }
  return "";
}

function isHarnessText(text: string): boolean {
  const trimmed = text.trim();
  return (
    /^<([a-z_]+)>[\s\S]*<\/\1>$/.test(trimmed) || trimmed.startsWith("# AGENTS.md instructions")
  );
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
