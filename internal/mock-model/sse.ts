// Server-sent events in the shape the OpenAI Responses API streams them, as far as codex 0.169.0
// reads them: response.created, per-item added/delta/done events, and a terminal response event.
import type { MockOutputItem, MockUsage } from "./mock-reply.js";

/** One SSE event; `data` becomes the JSON payload (its `type` field is added when framing). */
export interface SseEvent {
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** Facts about the response being streamed that appear in every response object. */
export interface ResponseMeta {
  readonly id: string;
  readonly model: string;
  /** Unix seconds. */
  readonly createdAt: number;
}

/** The usage numbers a scripted response reports when the script does not say otherwise. */
export const DEFAULT_USAGE: Required<Omit<MockUsage, "cacheWriteTokens">> = {
  inputTokens: 10,
  cachedTokens: 0,
  outputTokens: 5,
  reasoningTokens: 0,
};

/** Longest text delta; short enough that every reply streams as several deltas. */
const DELTA_CHUNK_CHARS = 24;

/**
 * Frames one event: an `event:` line, one `data:` line with the JSON (JSON never contains a raw
 * newline, so one data line is always enough), and the blank line that ends the event.
 */
export function formatSseEvent(event: SseEvent, sequenceNumber: number): string {
  const payload = { type: event.type, sequence_number: sequenceNumber, ...event.data };
  return `event: ${event.type}\ndata: ${JSON.stringify(payload)}\n\n`;
}

/** The usage object of response.completed, with total_tokens = input + output. */
export function toWireUsage(usage: MockUsage = {}): Record<string, unknown> {
  const input = usage.inputTokens ?? DEFAULT_USAGE.inputTokens;
  const output = usage.outputTokens ?? DEFAULT_USAGE.outputTokens;
  return {
    input_tokens: input,
    input_tokens_details: {
      cached_tokens: usage.cachedTokens ?? DEFAULT_USAGE.cachedTokens,
      ...(usage.cacheWriteTokens === undefined
        ? {}
        : { cache_write_tokens: usage.cacheWriteTokens }),
    },
    output_tokens: output,
    output_tokens_details: {
      reasoning_tokens: usage.reasoningTokens ?? DEFAULT_USAGE.reasoningTokens,
    },
    total_tokens: input + output,
  };
}

/** Splits text into deltas the way a model streams it: in order, never empty. */
export function splitIntoDeltas(text: string): string[] {
  const chunks: string[] = [];
  for (let start = 0; start < text.length; start += DELTA_CHUNK_CHARS) {
    chunks.push(text.slice(start, start + DELTA_CHUNK_CHARS));
  }
  return chunks;
}

/** The id prefix the real API uses for each item type. */
function idPrefix(item: MockOutputItem): string {
  switch (item.type) {
    case "message":
      return "msg";
    case "function_call":
      return "fc";
    case "custom_tool_call":
      return "ctc";
    case "reasoning":
      return "rs";
    case "raw":
      return "item";
  }
}

/** The finished wire item for `item`, given the id it streams under. */
export function toWireItem(item: MockOutputItem, id: string): Record<string, unknown> {
  switch (item.type) {
    case "message":
      return {
        type: "message",
        id,
        status: "completed",
        role: "assistant",
        content: [{ type: "output_text", text: item.text, annotations: [] }],
      };
    case "function_call":
      return {
        type: "function_call",
        id,
        status: "completed",
        call_id: item.call_id,
        name: item.name,
        ...(item.namespace === undefined ? {} : { namespace: item.namespace }),
        arguments: item.arguments,
      };
    case "custom_tool_call":
      return {
        type: "custom_tool_call",
        id,
        status: "completed",
        call_id: item.call_id,
        name: item.name,
        input: item.input,
      };
    case "reasoning":
      return {
        type: "reasoning",
        id,
        summary: item.summary.map((text) => ({ type: "summary_text", text })),
      };
    case "raw":
      return { ...item.item };
  }
}

/** Assigns ids to items that have none: `<prefix>_<responseId suffix>_<index>`. */
export function itemIdFor(item: MockOutputItem, responseId: string, outputIndex: number): string {
  if (item.type === "raw") {
    const rawId = item.item["id"];
    return typeof rawId === "string" ? rawId : `item_${responseId}_${outputIndex}`;
  }
  return item.id ?? `${idPrefix(item)}_${responseId.replace(/^resp_/, "")}_${outputIndex}`;
}

/** The events for one output item: added, its deltas, done. */
export function outputItemEvents(
  item: MockOutputItem,
  outputIndex: number,
  itemId: string,
): SseEvent[] {
  const done = toWireItem(item, itemId);
  const at = { output_index: outputIndex, item_id: itemId };
  const events: SseEvent[] = [];
  switch (item.type) {
    case "message": {
      const part = { type: "output_text", text: "", annotations: [] };
      events.push(added(outputIndex, { ...done, status: "in_progress", content: [] }));
      events.push({ type: "response.content_part.added", data: { ...at, content_index: 0, part } });
      for (const delta of splitIntoDeltas(item.text)) {
        events.push({
          type: "response.output_text.delta",
          data: { ...at, content_index: 0, delta, logprobs: [] },
        });
      }
      events.push({
        type: "response.output_text.done",
        data: { ...at, content_index: 0, text: item.text, logprobs: [] },
      });
      events.push({
        type: "response.content_part.done",
        data: { ...at, content_index: 0, part: { ...part, text: item.text } },
      });
      break;
    }
    case "function_call":
      events.push(added(outputIndex, { ...done, status: "in_progress", arguments: "" }));
      for (const delta of splitIntoDeltas(item.arguments)) {
        events.push({ type: "response.function_call_arguments.delta", data: { ...at, delta } });
      }
      events.push({
        type: "response.function_call_arguments.done",
        data: { ...at, arguments: item.arguments },
      });
      break;
    case "custom_tool_call":
      events.push(added(outputIndex, { ...done, status: "in_progress", input: "" }));
      for (const delta of splitIntoDeltas(item.input)) {
        events.push({ type: "response.custom_tool_call_input.delta", data: { ...at, delta } });
      }
      events.push({
        type: "response.custom_tool_call_input.done",
        data: { ...at, input: item.input },
      });
      break;
    case "reasoning":
      events.push(added(outputIndex, { ...done, summary: [] }));
      item.summary.forEach((text, summaryIndex) => {
        const part = { type: "summary_text", text: "" };
        const atPart = { ...at, summary_index: summaryIndex };
        events.push({ type: "response.reasoning_summary_part.added", data: { ...atPart, part } });
        for (const delta of splitIntoDeltas(text)) {
          events.push({
            type: "response.reasoning_summary_text.delta",
            data: { ...atPart, delta },
          });
        }
        events.push({ type: "response.reasoning_summary_text.done", data: { ...atPart, text } });
        events.push({
          type: "response.reasoning_summary_part.done",
          data: { ...atPart, part: { ...part, text } },
        });
      });
      break;
    case "raw":
      events.push(added(outputIndex, done));
      break;
  }
  events.push({
    type: "response.output_item.done",
    data: { output_index: outputIndex, item: done },
  });
  return events;
}

function added(outputIndex: number, item: Record<string, unknown>): SseEvent {
  return { type: "response.output_item.added", data: { output_index: outputIndex, item } };
}

/** The response object carried by response.* lifecycle events. */
export function responseObject(
  meta: ResponseMeta,
  status: "in_progress" | "completed" | "failed" | "incomplete",
  extra: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  return {
    id: meta.id,
    object: "response",
    created_at: meta.createdAt,
    status,
    model: meta.model,
    output: [],
    usage: null,
    error: null,
    incomplete_details: null,
    ...extra,
  };
}

/** response.created followed by response.in_progress, as the real API opens every stream. */
export function openingEvents(meta: ResponseMeta): SseEvent[] {
  const response = responseObject(meta, "in_progress");
  return [
    { type: "response.created", data: { response } },
    { type: "response.in_progress", data: { response } },
  ];
}

/** The events for every item, with ids assigned; also returns the finished wire items. */
export function itemsEvents(
  meta: ResponseMeta,
  items: readonly MockOutputItem[],
): { events: SseEvent[]; output: Record<string, unknown>[] } {
  const events: SseEvent[] = [];
  const output: Record<string, unknown>[] = [];
  items.forEach((item, index) => {
    const id = itemIdFor(item, meta.id, index);
    events.push(...outputItemEvents(item, index, id));
    output.push(toWireItem(item, id));
  });
  return { events, output };
}

/** A complete successful stream: opening, items, response.completed with usage. */
export function completedStreamEvents(
  meta: ResponseMeta,
  items: readonly MockOutputItem[],
  usage?: MockUsage,
): SseEvent[] {
  const { events, output } = itemsEvents(meta, items);
  const response = responseObject(meta, "completed", { output, usage: toWireUsage(usage) });
  return [...openingEvents(meta), ...events, { type: "response.completed", data: { response } }];
}

/** A stream that fails: opening, then response.failed{error{code,message}}. */
export function failedStreamEvents(meta: ResponseMeta, code: string, message: string): SseEvent[] {
  const response = responseObject(meta, "failed", { error: { code, message } });
  return [...openingEvents(meta), { type: "response.failed", data: { response } }];
}

/** A stream that ends incomplete: opening, then response.incomplete{incomplete_details{reason}}. */
export function incompleteStreamEvents(meta: ResponseMeta, reason: string): SseEvent[] {
  const response = responseObject(meta, "incomplete", { incomplete_details: { reason } });
  return [...openingEvents(meta), { type: "response.incomplete", data: { response } }];
}
