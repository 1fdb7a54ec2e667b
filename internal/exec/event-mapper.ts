// Maps codex `exec --json` lines to canonical events. Never throws: unknown types pass through,
// malformed lines become warnings, so a codex upgrade degrades output instead of killing turns.
import { classifyCodexError } from "../codex/error-classifier.js";
import type { ToolDetail, ToolPhase } from "../core/canonical-event.js";
import { type Usage, USAGE_FIELDS } from "../core/usage.js";
import type { SplitLine } from "../jsonl/line-splitter.js";
import { parseJsonLine } from "../jsonl/parse-line.js";
import type { BackendEvent } from "../turn/codex-backend.js";
import type { DriftKind } from "../turn/drift-report.js";
import {
  type CodexEvent,
  type CodexItem,
  type CodexUsage,
  ITEM_EVENT_TYPES,
  type ItemEventType,
} from "./exec-events.js";

/** What one line means: canonical events to forward, or turn facts the engine acts on. */
export type MapperOutput = BackendEvent;

const TOOL_ITEM_TYPES = new Set([
  "command_execution",
  "mcp_tool_call",
  "file_change",
  "web_search",
  "todo_list",
  "collab_tool_call",
]);

const PHASES: Record<ItemEventType, ToolPhase> = {
  "item.started": "started",
  "item.updated": "updated",
  "item.completed": "completed",
};

const RECONNECTING = "Reconnecting...";
const SNIPPET_CHARS = 200;

// web_search lines carry "id" twice (exec's item id, then the flattened raw `ws_…` id) and
// JSON.parse keeps the last. exec serialises `item` with its own id first, so read it from the text.
const EXEC_ITEM_ID = /"item"\s*:\s*\{\s*"id"\s*:\s*"((?:[^"\\]|\\.)*)"/;

export class CodexEventMapper {
  readonly #now: () => Date;
  #finalText = "";
  #lastFatalMessage: string | undefined;
  #lastRetryMessage: string | undefined;
  // Texts seen since the last tool item. A stream retry re-emits the partial agent_message as a new
  // item.completed (6 copies after 5 retries), with only retry notices in between.
  #recentTexts = new Set<string>();

  constructor(options: { now?: () => Date } = {}) {
    this.#now = options.now ?? (() => new Date());
  }

  /** The text of the last agent_message. */
  get finalText(): string {
    return this.#finalText;
  }

  /**
   * The last "Reconnecting..." notice not followed by an item: what codex was still retrying
   * when the turn was stopped (e.g. "waiting for network" when the provider is unreachable).
   */
  get lastRetryMessage(): string | undefined {
    return this.#lastRetryMessage;
  }

  /** The last top-level `error` that was not a retry notice; explains a turn with no turn.failed. */
  get lastFatalMessage(): string | undefined {
    return this.#lastFatalMessage;
  }

  /** Maps one split line. */
  mapLine(line: SplitLine): MapperOutput[] {
    if (line.kind === "oversize") {
      return [
        warning(
          `skipped codex output line ${line.lineNumber}: ${line.bytes} bytes is over the line limit`,
        ),
      ];
    }
    const parsed = parseJsonLine(line.text);
    if (!parsed.ok) {
      return [
        warning(
          `codex printed a line that is not JSON (line ${line.lineNumber}: ${parsed.error}): ` +
            snippet(line.text),
        ),
      ];
    }
    if (typeof parsed.value !== "object" || parsed.value === null || Array.isArray(parsed.value)) {
      return [
        warning(
          `codex printed a JSON line that is not an object (line ${line.lineNumber}): ${snippet(line.text)}`,
        ),
      ];
    }
    return this.#mapEvent(parsed.value as CodexEvent, line.text);
  }

  #mapEvent(event: CodexEvent, raw: string): MapperOutput[] {
    const type = typeof event.type === "string" ? event.type : "";
    switch (type) {
      case "thread.started":
        if (typeof event.thread_id !== "string" || event.thread_id === "") {
          return [drift("thread_id_missing", raw)];
        }
        return [{ kind: "thread_started", threadId: event.thread_id }];
      case "turn.started":
        return [];
      case "turn.completed":
        return [
          { kind: "turn_completed", usage: toUsage(event.usage) },
          ...(hasEveryUsageField(event.usage) ? [] : [drift("usage_fields_missing", raw)]),
        ];
      case "turn.failed": {
        const message = stringOr(event.error?.message, this.#lastFatalMessage ?? "turn failed");
        return [{ kind: "turn_failed", error: classifyCodexError(message, this.#now()) }];
      }
      case "error":
        return this.#mapTopLevelError(stringOr(event.message, ""));
      default:
        if ((ITEM_EVENT_TYPES as readonly string[]).includes(type) && isObject(event.item)) {
          return this.#mapItem(type as ItemEventType, event.item, raw);
        }
        return [passthrough(type === "" ? "unknown" : type, raw), drift("unknown_event_type", raw)];
    }
  }

  #mapTopLevelError(message: string): MapperOutput[] {
    // Retry notices are progress: codex is still working (the "waiting for network" loop never
    // ends by itself; the runner's wall-clock timeout bounds it).
    if (message.startsWith(RECONNECTING)) {
      this.#lastRetryMessage = message;
      return [{ kind: "notice", notice: "retrying", message }];
    }
    // Fatal errors are followed by turn.failed carrying the same text; remember it in case the
    // process exits without one.
    this.#lastFatalMessage = message;
    return [];
  }

  #mapItem(eventType: ItemEventType, item: CodexItem, raw: string): MapperOutput[] {
    this.#lastRetryMessage = undefined;
    const itemType = typeof item.type === "string" ? item.type : "";
    const itemId = execItemId(raw) ?? stringOr(item.id, "");
    const phase = PHASES[eventType];
    switch (itemType) {
      case "agent_message":
      case "reasoning": {
        // Both are only ever completed in 0.169.0; an earlier phase would be a partial text.
        if (phase !== "completed") return [];
        const text = stringOr(item.text, "");
        const key = `${itemType}\0${text}`;
        if (this.#recentTexts.has(key)) return [];
        this.#recentTexts.add(key);
        if (itemType === "reasoning") return [{ kind: "reasoning", itemId, text }];
        this.#finalText = text;
        return [{ kind: "text", itemId, text }];
      }
      case "error":
        // Item-level errors are non-fatal warnings (config warnings, model fallbacks, lag notices).
        return [warning(stringOr(item.message, snippet(raw)))];
      default:
        if (!TOOL_ITEM_TYPES.has(itemType)) {
          return [
            passthrough(`${eventType}:${itemType || "unknown"}`, raw),
            drift("unknown_item_type", raw),
          ];
        }
        this.#recentTexts.clear();
        return [
          {
            kind: "tool",
            itemId,
            phase,
            status: stringOr(item.status, phase === "completed" ? "completed" : "in_progress"),
            detail: toolDetail(itemType, item),
          },
        ];
    }
  }
}

function execItemId(raw: string): string | undefined {
  const quoted = EXEC_ITEM_ID.exec(raw)?.[1];
  if (quoted === undefined) return undefined;
  try {
    return JSON.parse(`"${quoted}"`) as string;
  } catch {
    return undefined;
  }
}

function toolDetail(itemType: string, item: CodexItem): ToolDetail {
  switch (itemType) {
    case "command_execution":
      return {
        type: "command_execution",
        command: stringOr(item.command, ""),
        aggregatedOutput: stringOr(item.aggregated_output, ""),
        exitCode: typeof item.exit_code === "number" ? item.exit_code : null,
      };
    case "mcp_tool_call":
      return {
        type: "mcp_tool_call",
        server: stringOr(item.server, ""),
        tool: stringOr(item.tool, ""),
        argumentsJson: jsonOrEmpty(item.arguments),
        resultJson: jsonOrEmpty(item.result),
        error: stringOr(item.error?.message, ""),
      };
    case "file_change":
      return {
        type: "file_change",
        changes: (Array.isArray(item.changes) ? item.changes : []).map((change) => ({
          path: stringOr(change?.path, ""),
          kind: stringOr(change?.kind, ""),
        })),
      };
    case "web_search":
      return {
        type: "web_search",
        query: stringOr(item.query, ""),
        actionJson: jsonOrEmpty(item.action),
      };
    case "todo_list":
      return {
        type: "todo_list",
        items: (Array.isArray(item.items) ? item.items : []).map((entry) => ({
          text: stringOr(entry?.text, ""),
          completed: entry?.completed === true,
        })),
      };
    default:
      return {
        type: "collab_tool_call",
        tool: stringOr(item.tool, ""),
        rawJson: JSON.stringify(item),
      };
  }
}

/** True when codex's usage object has every counter the plugin reports. */
function hasEveryUsageField(usage: CodexUsage | undefined): boolean {
  return USAGE_FIELDS.every((field) => typeof usage?.[field] === "number");
}

/** Codex usage → Usage; missing or non-numeric fields count as 0 (older builds lack cache_write). */
export function toUsage(usage: CodexUsage | undefined): Usage {
  const count = (value: unknown): number =>
    typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0;
  return {
    input_tokens: count(usage?.input_tokens),
    cached_input_tokens: count(usage?.cached_input_tokens),
    cache_write_input_tokens: count(usage?.cache_write_input_tokens),
    output_tokens: count(usage?.output_tokens),
    reasoning_output_tokens: count(usage?.reasoning_output_tokens),
  };
}

function warning(message: string): MapperOutput {
  return { kind: "notice", notice: "warning", message };
}

function drift(kind: DriftKind, sample: string): MapperOutput {
  return { kind: "drift", drift: kind, sample };
}

function passthrough(type: string, rawJson: string): MapperOutput {
  return { kind: "passthrough", type, rawJson };
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === "string" ? value : fallback;
}

function jsonOrEmpty(value: unknown): string {
  return value === undefined || value === null ? "" : JSON.stringify(value);
}

function isObject(value: unknown): value is CodexItem {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function snippet(text: string): string {
  return text.length > SNIPPET_CHARS ? `${text.slice(0, SNIPPET_CHARS)}…` : text;
}
