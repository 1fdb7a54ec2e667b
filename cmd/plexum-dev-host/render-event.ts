// Renders wire turn events as short lines for a person at a terminal: the events whose text stands
// alone. The ones whose text depends on what was already said (turn start and end, usage, errors,
// commands) are text-report.ts's.
import {
  ErrorClass,
  type ErrorEvent,
  NoticeEvent_Kind,
  ToolEvent_Phase,
  type TurnEnd,
  TurnEnd_Outcome,
  type TurnEvent,
  type Usage,
} from "../../internal/provider/provider-protocol.js";

/** Token counts in one short phrase. */
export function usageText(usage: Usage): string {
  return (
    `in ${usage.inputTokens} (cached ${usage.cachedInputTokens}), ` +
    `out ${usage.outputTokens} (reasoning ${usage.reasoningOutputTokens})`
  );
}

/** An error's class, code and retry advice, without its message. */
export function errorHead(error: ErrorEvent): string {
  const retry = error.retryable
    ? `retryable${error.retryAfterSeconds === undefined ? "" : ` after ${error.retryAfterSeconds}s`}`
    : "not retryable";
  return `[${ErrorClass[error.class]?.toLowerCase() ?? "unknown"}] ${error.code} (${retry})`;
}

export function indent(text: string, prefix = "    "): string {
  return text
    .trimEnd()
    .split("\n")
    .map((line) => prefix + line)
    .join("\n");
}

/** The lines after a turn's end line: structured output, diff, a crash's stderr tail. */
export function turnEndDetails(end: TurnEnd): string[] {
  const lines: string[] = [];
  if (end.structuredOutputJson !== "") lines.push(`  output: ${end.structuredOutputJson}`);
  if (end.diff !== undefined && end.diff.status !== "not_git") {
    lines.push(`  diff (${end.diff.status}): ${end.diff.files.join(", ") || "no changes"}`);
  }
  if (end.outcome === TurnEnd_Outcome.CRASHED && end.stderrTail !== "") {
    lines.push(`  stderr tail:\n${indent(end.stderrTail)}`);
  }
  return lines;
}

/** A completed command: its exit code and (the head of) its output, after `head`. */
export function commandResult(head: string, exitCode: number | undefined, output: string): string {
  const line = `${head}exit ${exitCode ?? "?"}`;
  return output === "" ? line : `${line}\n${indent(output.slice(0, 2000))}`;
}

/** One self-contained event as display text; "" for events not worth a line on their own. */
export function renderEvent(event: TurnEvent): string {
  const body = event.event;
  switch (body.case) {
    case "text":
      return `💬 ${body.value.text}`;
    case "reasoning":
      return `🤔 ${body.value.text}`;
    case "tool": {
      const phase = ToolEvent_Phase[body.value.phase]?.toLowerCase() ?? "?";
      const tool = body.value.tool;
      switch (tool.case) {
        case "mcpToolCall":
          return `🔌 ${tool.value.server}/${tool.value.tool} ${phase} ${body.value.status}`;
        case "fileChange":
          return `📝 ${tool.value.changes.map((c) => `${c.kind} ${c.path}`).join(", ")} (${phase})`;
        case "webSearch":
          return `🔎 ${tool.value.query} (${phase})`;
        case "todoList":
          return `📋 ${tool.value.items.map((i) => `${i.completed ? "☑" : "☐"} ${i.text}`).join("  ")}`;
        case "collabToolCall":
          return `🤝 ${tool.value.tool} (${phase})`;
        case "command":
        case undefined:
          return "";
      }
      return "";
    }
    case "notice":
      return body.value.kind === NoticeEvent_Kind.THREAD_STORED
        ? ""
        : `ℹ ${NoticeEvent_Kind[body.value.kind]?.toLowerCase() ?? "notice"}: ${body.value.message}`;
    case "passthrough":
      return `· ${body.value.type}`;
    case "toolCall":
      return `🆔 ${body.value.kind} ${body.value.namespace === "" ? "" : `${body.value.namespace}/`}${body.value.name} [${body.value.callId}]`;
    case "hostToolCall":
      return `🧰 host tool ${body.value.toolName} ${body.value.argumentsJson}`;
    case "threadLost":
      return `⚠ thread ${body.value.threadId} lost (${body.value.reason}); ${body.value.action.replaceAll("_", " ")}`;
    // The tool call's record already named the call; its result's size is no news to a person.
    // Deltas are pieces of an item whose whole text follows.
    case "textDelta":
    case "reasoningDelta":
    case "commandOutputDelta":
    case "toolResult":
    case "turnStarted":
    case "usage":
    case "error":
    case "turnEnd":
    case undefined:
      return "";
  }
}
