// Maps the app-server notifications of one turn to the same canonical events the exec mapper
// (internal/exec/event-mapper.ts) produces for the same items, plus the streamed deltas exec never
// has. Never throws: unknown notifications and item types pass through with a drift fact.
import { classifyAppServerError } from "../codex/error-info-classifier.js";
import type { CanonicalEvent, ToolDetail, ToolPhase } from "../core/canonical-event.js";
import { type Usage, USAGE_FIELDS } from "../core/usage.js";
import type { BackendEvent } from "../turn/codex-backend.js";
import type { DriftKind } from "../turn/drift-report.js";

type Params = Record<string, unknown>;

/** Notifications that carry nothing a turn reports (state changes, progress, account news). */
const TURN_CONTENT = /^(item|turn)\//;

const QUIET_METHODS = new Set([
  "turn/started",
  "thread/started",
  "thread/status/changed",
  "thread/readState/changed",
  "thread/name/updated",
  "account/rateLimits/updated",
  "item/fileChange/outputDelta",
  "item/mcpToolCall/progress",
  "item/plan/delta",
  "turn/diff/updated",
  "serverRequest/resolved",
  "hook/started",
  "hook/completed",
  "thread/compacted",
]);

/** Item types exec reports as tool activity, by their app-server name. */
const TOOL_TYPES = new Set([
  "commandExecution",
  "mcpToolCall",
  "fileChange",
  "webSearch",
  "collabAgentToolCall",
]);

/** Item types of the 0.169.0 protocol that exec does not report either. */
const SILENT_ITEM_TYPES = new Set(["userMessage", "hookPrompt", "contextCompaction"]);

const SNIPPET_CHARS = 200;

/** The figures of one turn's token reports. */
export interface TurnTokenFigures {
  /** The thread's cumulative usage after the turn's last model request. */
  total: Usage | undefined;
  /** The sum of `last` over the turn's model requests. */
  sumOfLast: Usage | undefined;
}

/** One turn's notifications → events; what the turn's exit needs is kept. */
export class TurnNotificationMapper {
  readonly #now: () => Date;
  #lastFatal: string | undefined;
  #lastRetry: string | undefined;
  #ended = false;
  #total: Usage | undefined;
  /** The thread's cumulative usage when the turn began, where known. */
  #startTotal: Usage | undefined;
  #sumOfLast: Usage | undefined;
  #plan: { items: { text: string; completed: boolean }[] } | undefined;
  #planId = "";

  constructor(options: { now?: () => Date; initialTotal?: Usage | undefined } = {}) {
    this.#now = options.now ?? (() => new Date());
    this.#total = options.initialTotal;
  }

  /** True once turn/completed arrived. */
  get ended(): boolean {
    return this.#ended;
  }

  /** The last error codex reported without retrying it. */
  get lastFatalMessage(): string | undefined {
    return this.#lastFatal;
  }

  /** The last retry notice no progress followed. */
  get lastRetryMessage(): string | undefined {
    return this.#lastRetry;
  }

  get tokens(): TurnTokenFigures {
    return { total: this.#total, sumOfLast: this.#sumOfLast };
  }

  /**
   * The thread's cumulative usage before the turn's first model request: zero for a new thread, the
   * last total of a thread the server kept loaded, or what codex restored when it loaded the thread.
   * With it, the turn's end checks codex's figures against each other.
   */
  startFrom(total: Usage): void {
    this.#startTotal = { ...total };
    this.#total ??= { ...total };
  }

  /** The usage codex restored from the rollout while loading the thread (before turn/start). */
  restored(raw: unknown): void {
    const total = toUsage((raw as { total?: unknown } | undefined)?.total);
    if (total !== undefined) this.startFrom(total);
  }

  /** Maps one notification of this turn's thread. */
  map(method: string, params: Params): BackendEvent[] {
    switch (method) {
      case "item/started":
        return this.#item("started", params["item"]);
      case "item/completed":
        return this.#item("completed", params["item"]);
      case "item/agentMessage/delta":
        return delta("text_delta", params);
      case "item/reasoning/summaryTextDelta":
      case "item/reasoning/textDelta":
        return delta("reasoning_delta", params);
      case "item/reasoning/summaryPartAdded":
        // The whole item joins its summary parts with a blank line; so do its deltas.
        return typeof params["summaryIndex"] === "number" && params["summaryIndex"] > 0
          ? [{ kind: "reasoning_delta", itemId: stringOr(params["itemId"], ""), delta: "\n\n" }]
          : [];
      case "item/commandExecution/outputDelta":
        return delta("command_output_delta", params);
      case "thread/tokenUsage/updated":
        return this.#tokens(params["tokenUsage"], params);
      case "turn/plan/updated":
        return this.#planUpdated(params);
      case "error":
        return this.#error(params);
      case "turn/completed":
        return this.#completed(params);
      default:
        if (QUIET_METHODS.has(method)) return [];
        // A turn's content arrives as item/* and turn/* notifications: an unknown one there is
        // drift. Other thread-level news (goals, names, settings; 0.171.0 added thread/goal/*) says
        // nothing a turn reports, so it only passes through.
        if (!TURN_CONTENT.test(method)) return [passthrough(method, { method, params })];
        return [passthrough(method, { method, params }), drift("unknown_event_type", { method })];
    }
  }

  #item(phase: ToolPhase, raw: unknown): BackendEvent[] {
    if (!isObject(raw)) return [drift("unknown_item_type", raw)];
    const type = stringOr(raw["type"], "");
    const itemId = stringOr(raw["id"], "");
    this.#lastRetry = undefined;
    if (type === "agentMessage" || type === "reasoning") {
      if (phase !== "completed") return [];
      if (type === "reasoning") return [{ kind: "reasoning", itemId, text: reasoningText(raw) }];
      return [{ kind: "text", itemId, text: stringOr(raw["text"], "") }];
    }
    if (TOOL_TYPES.has(type)) {
      const status = stringOr(raw["status"], phase === "completed" ? "completed" : "in_progress");
      return [{ kind: "tool", itemId, phase, status: snakeCase(status), detail: toolDetail(raw) }];
    }
    if (SILENT_ITEM_TYPES.has(type)) return [];
    return [
      passthrough(`item/${phase}:${type || "unknown"}`, raw),
      drift("unknown_item_type", raw),
    ];
  }

  #tokens(raw: unknown, params: Params): BackendEvent[] {
    const total = toUsage((raw as { total?: unknown } | undefined)?.total);
    const last = toUsage((raw as { last?: unknown } | undefined)?.last);
    if (total === undefined || last === undefined) return [drift("usage_fields_missing", params)];
    this.#total = total;
    this.#sumOfLast = addUsage(this.#sumOfLast, last);
    return [];
  }

  // `last` is per model request: summed over the turn it must equal the growth of `total` since the
  // turn began. Codex's own figures only: the plugin's stored baseline may legitimately differ
  // (a CompactThread in between, a state dir that was lost).
  #crossCheck(total: Usage): BackendEvent[] {
    const start = this.#startTotal;
    const sum = this.#sumOfLast ?? zeroUsage();
    if (start === undefined) return [];
    const differ = USAGE_FIELDS.filter((field) => sum[field] !== total[field] - start[field]);
    if (differ.length === 0) return [];
    const said = differ.map((f) => `${f} ${sum[f]} summed, total grew ${total[f] - start[f]}`);
    return [drift("usage_sum_mismatch", said.join("; "))];
  }

  // The update_plan tool: exec reports it as a todo_list item, started then updated, and completed
  // when the turn ends.
  #planUpdated(params: Params): BackendEvent[] {
    const steps = Array.isArray(params["plan"]) ? (params["plan"] as unknown[]) : [];
    const items = steps.map((step) => ({
      text: stringOr((step as Params | null)?.["step"], ""),
      completed: (step as Params | null)?.["status"] === "completed",
    }));
    const phase: ToolPhase = this.#plan === undefined ? "started" : "updated";
    this.#plan = { items };
    this.#planId ||= `plan_${stringOr(params["turnId"], "turn")}`;
    return [planEvent(this.#planId, phase, items)];
  }

  #error(params: Params): BackendEvent[] {
    const error = isObject(params["error"]) ? params["error"] : {};
    const message = stringOr(error["message"], "codex reported an error");
    if (params["willRetry"] === true) {
      this.#lastRetry = message;
      return [{ kind: "notice", notice: "retrying", message }];
    }
    // Followed by turn/completed with status "failed" and the same error.
    this.#lastFatal = message;
    return [];
  }

  #completed(params: Params): BackendEvent[] {
    this.#ended = true;
    const turn = isObject(params["turn"]) ? params["turn"] : {};
    const status = stringOr(turn["status"], "");
    const events: BackendEvent[] = [];
    if (this.#plan !== undefined) {
      events.push(planEvent(this.#planId, "completed", this.#plan.items));
    }
    if (status === "completed") {
      const total = this.#total ?? zeroUsage();
      events.push({ kind: "turn_completed", usage: total }, ...this.#crossCheck(total));
      return events;
    }
    if (status === "failed") {
      const error = isObject(turn["error"]) ? turn["error"] : {};
      const message = stringOr(error["message"], this.#lastFatal ?? "turn failed");
      const classified = classifyAppServerError(message, error["codexErrorInfo"], this.#now());
      events.push({ kind: "turn_failed", error: classified });
      return events;
    }
    // "interrupted": the plugin asked for it; the turn's stop cause decides the outcome.
    if (status !== "interrupted") events.push(drift("unknown_event_type", params));
    return events;
  }
}

function reasoningText(item: Params): string {
  const summary = Array.isArray(item["summary"]) ? (item["summary"] as unknown[]) : [];
  const content = Array.isArray(item["content"]) ? (item["content"] as unknown[]) : [];
  const parts = (summary.length > 0 ? summary : content).filter(
    (part): part is string => typeof part === "string",
  );
  return parts.join("\n\n");
}

function delta(
  kind: "text_delta" | "reasoning_delta" | "command_output_delta",
  params: Params,
): BackendEvent[] {
  const value = params["delta"];
  if (typeof value !== "string" || value === "") return [];
  return [{ kind, itemId: stringOr(params["itemId"], ""), delta: value }];
}

function toolDetail(item: Params): ToolDetail {
  switch (item["type"]) {
    case "commandExecution":
      return {
        type: "command_execution",
        command: stringOr(item["command"], ""),
        aggregatedOutput: stringOr(item["aggregatedOutput"], ""),
        exitCode: typeof item["exitCode"] === "number" ? item["exitCode"] : null,
      };
    case "mcpToolCall": {
      const error = item["error"] as { message?: unknown } | null | undefined;
      return {
        type: "mcp_tool_call",
        server: stringOr(item["server"], ""),
        tool: stringOr(item["tool"], ""),
        argumentsJson: jsonOrEmpty(item["arguments"]),
        resultJson: jsonOrEmpty(item["result"]),
        error: stringOr(error?.message, ""),
      };
    }
    case "fileChange":
      return {
        type: "file_change",
        changes: (Array.isArray(item["changes"]) ? (item["changes"] as Params[]) : []).map(
          (change) => ({
            path: stringOr(change?.["path"], ""),
            kind: changeKind(change?.["kind"]),
          }),
        ),
      };
    case "webSearch":
      return {
        type: "web_search",
        query: stringOr(item["query"], ""),
        actionJson: jsonOrEmpty(item["action"]),
      };
    default:
      return {
        type: "collab_tool_call",
        tool: stringOr(item["tool"], ""),
        rawJson: JSON.stringify(item),
      };
  }
}

// app-server's PatchChangeKind is `{type: "add" | "delete" | "update", …}`; exec says the type.
function changeKind(kind: unknown): string {
  if (typeof kind === "string") return kind;
  return stringOr((kind as { type?: unknown } | null | undefined)?.type, "");
}

function planEvent(
  itemId: string,
  phase: ToolPhase,
  items: { text: string; completed: boolean }[],
): CanonicalEvent {
  return {
    kind: "tool",
    itemId,
    phase,
    status: phase === "completed" ? "completed" : "in_progress",
    detail: { type: "todo_list", items },
  };
}

// app-server says "inProgress"; exec (and so the events so far) say "in_progress".
function snakeCase(value: string): string {
  return value.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

const WIRE_FIELDS: Record<(typeof USAGE_FIELDS)[number], string> = {
  input_tokens: "inputTokens",
  cached_input_tokens: "cachedInputTokens",
  cache_write_input_tokens: "cacheWriteInputTokens",
  output_tokens: "outputTokens",
  reasoning_output_tokens: "reasoningOutputTokens",
};

/** app-server's TokenUsageBreakdown → Usage; undefined when it is not one. */
export function toUsage(raw: unknown): Usage | undefined {
  if (!isObject(raw)) return undefined;
  const count = (value: unknown): number =>
    typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0;
  const usage = {} as Usage;
  for (const field of USAGE_FIELDS) usage[field] = count(raw[WIRE_FIELDS[field]]);
  return usage;
}

function addUsage(a: Usage | undefined, b: Usage): Usage {
  if (a === undefined) return { ...b };
  const sum = {} as Usage;
  for (const field of USAGE_FIELDS) sum[field] = a[field] + b[field];
  return sum;
}

function zeroUsage(): Usage {
  const usage = {} as Usage;
  for (const field of USAGE_FIELDS) usage[field] = 0;
  return usage;
}

function drift(kind: DriftKind, sample: unknown): BackendEvent {
  return { kind: "drift", drift: kind, sample: snippet(JSON.stringify(sample) ?? "") };
}

function passthrough(type: string, raw: unknown): BackendEvent {
  return { kind: "passthrough", type, rawJson: JSON.stringify(raw) ?? "" };
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === "string" ? value : fallback;
}

function jsonOrEmpty(value: unknown): string {
  return value === undefined || value === null ? "" : JSON.stringify(value);
}

function isObject(value: unknown): value is Params {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function snippet(text: string): string {
  return text.length > SNIPPET_CHARS ? `${text.slice(0, SNIPPET_CHARS)}…` : text;
}
