// Tool calls and their outputs as codex records them in a rollout (research §3.3), turned into
// canonical tool_call / tool_result events carrying codex's real call ids.
import type { CanonicalEvent } from "../core/canonical-event.js";
import {
  CALL_TYPES,
  isRecord,
  OUTPUT_TYPES,
  type RolloutLine,
  stringField,
} from "./rollout-line.js";

type ToolEvent = Extract<CanonicalEvent, { kind: "tool_call" | "tool_result" }>;

// event_msg item_completed records that are tool calls (the UI view of an item).
const NESTED_TOOL_ITEMS = new Set(["CommandExecution", "FileChange", "McpToolCall", "WebSearch"]);

/**
 * Extracts tool events line by line. Stateful across lines of one reading session: a nested
 * code-mode call is recognised as an item_completed record whose id is no call id of a response
 * item, seen once a code-mode `exec` call has been (or its id has codex's `exec-` prefix).
 */
export class ToolRecordExtractor {
  readonly #callIds = new Set<string>();
  #codeModeSeen = false;

  /** The tool events of one parsed line (usually none). */
  eventsOf(line: RolloutLine): ToolEvent[] {
    const { payload } = line;
    if (line.type === "response_item") return this.#responseItem(payload);
    if (line.type === "event_msg" && payload["type"] === "item_completed") {
      return this.#nested(payload["item"]);
    }
    return [];
  }

  #responseItem(payload: Record<string, unknown>): ToolEvent[] {
    const type = stringField(payload, "type");
    // Items without a call id (web_search_call…) have UI records keyed by their own id.
    const itemId = stringField(payload, "id");
    if (itemId !== "") this.#callIds.add(itemId);
    const callId = stringField(payload, "call_id");
    if (callId === "") return [];
    if (CALL_TYPES.has(type)) {
      this.#callIds.add(callId);
      const custom = type === "custom_tool_call";
      const name = stringField(payload, "name");
      if (custom && name === "exec") this.#codeModeSeen = true;
      return [
        {
          kind: "tool_call",
          callId,
          name,
          namespace: stringField(payload, "namespace"),
          arguments: custom ? stringField(payload, "input") : stringField(payload, "arguments"),
          callKind: custom ? "custom_tool_call" : "function_call",
        },
      ];
    }
    if (OUTPUT_TYPES.has(type)) {
      this.#callIds.add(callId);
      return [{ kind: "tool_result", callId, ...outputOf(payload["output"]) }];
    }
    return [];
  }

  #nested(item: unknown): ToolEvent[] {
    if (!isRecord(item)) return [];
    const id = stringField(item, "id");
    const type = stringField(item, "type");
    if (id === "" || this.#callIds.has(id) || !NESTED_TOOL_ITEMS.has(type)) return [];
    // Top-level calls have item_completed records too, keyed by their call id (already seen).
    if (!this.#codeModeSeen && !id.startsWith("exec-")) return [];
    this.#callIds.add(id);
    const call = nestedCall(type, item);
    return [
      { kind: "tool_call", callId: id, ...call, callKind: "nested" },
      { kind: "tool_result", callId: id, output: nestedOutput(type, item), outputJson: json(item) },
    ];
  }
}

function nestedCall(
  type: string,
  item: Record<string, unknown>,
): { name: string; namespace: string; arguments: string } {
  switch (type) {
    case "CommandExecution":
      return {
        name: "exec_command",
        namespace: "",
        arguments: json({ command: item["command"], cwd: item["cwd"] }),
      };
    case "FileChange":
      return { name: "apply_patch", namespace: "", arguments: json({ changes: item["changes"] }) };
    case "McpToolCall": {
      const server = stringField(item, "server");
      return {
        name: stringField(item, "tool"),
        namespace: server === "" ? "" : `mcp__${server}`,
        arguments: json(item["arguments"] ?? {}),
      };
    }
    default:
      return { name: type, namespace: "", arguments: json(item["action"] ?? {}) };
  }
}

function nestedOutput(type: string, item: Record<string, unknown>): string {
  switch (type) {
    case "CommandExecution":
      return stringField(item, "aggregated_output");
    case "FileChange":
      return stringField(item, "stdout") + stringField(item, "stderr");
    case "McpToolCall": {
      const result = item["result"];
      const content = isRecord(result) ? result["content"] : undefined;
      if (Array.isArray(content)) return outputOf(content).output;
      return item["error"] === undefined || item["error"] === null ? "" : json(item["error"]);
    }
    default:
      return "";
  }
}

/** A recorded output as text plus, unless it was a plain string, its JSON. */
export function outputOf(output: unknown): { output: string; outputJson: string } {
  if (typeof output === "string") return { output, outputJson: "" };
  if (Array.isArray(output)) {
    const parts = output.map((item) => {
      if (isRecord(item) && typeof item["text"] === "string") return item["text"];
      if (isRecord(item) && typeof item["type"] === "string" && item["type"].includes("image")) {
        return "[image]";
      }
      return json(item);
    });
    return { output: parts.join("\n"), outputJson: json(output) };
  }
  if (output === undefined || output === null) return { output: "", outputJson: "" };
  return { output: json(output), outputJson: json(output) };
}

function json(value: unknown): string {
  return JSON.stringify(value) ?? "";
}
