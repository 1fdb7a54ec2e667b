// Renders wire turn events as short human-readable lines for a person at a terminal.
import {
  ErrorClass,
  type ErrorEvent,
  NoticeEvent_Kind,
  ToolEvent_Phase,
  TurnEnd_Outcome,
  type TurnEvent,
  type Usage,
} from "../../internal/provider/provider-protocol.js";

function usageLine(usage: Usage | undefined): string {
  if (usage === undefined) return "n/a";
  return (
    `in ${usage.inputTokens} (cached ${usage.cachedInputTokens}), ` +
    `out ${usage.outputTokens} (reasoning ${usage.reasoningOutputTokens})`
  );
}

function errorLine(error: ErrorEvent): string {
  const retry = error.retryable
    ? `retryable${error.retryAfterSeconds === undefined ? "" : ` after ${error.retryAfterSeconds}s`}`
    : "not retryable";
  return `[${ErrorClass[error.class]?.toLowerCase() ?? "unknown"}] ${error.code}: ${error.message} (${retry})`;
}

function indent(text: string, prefix = "    "): string {
  return text
    .trimEnd()
    .split("\n")
    .map((line) => prefix + line)
    .join("\n");
}

/** One event as display text; "" for events not worth a line. */
export function renderEvent(event: TurnEvent): string {
  const body = event.event;
  switch (body.case) {
    case "turnStarted":
      return (
        `▶ turn started — thread ${body.value.threadId} (${body.value.resumed ? "resumed" : "new"}), ` +
        `model ${body.value.model || "codex default"}, sandbox ${body.value.sandbox}` +
        (body.value.worktreePath === "" ? "" : `, worktree ${body.value.worktreePath}`)
      );
    case "text":
      return `💬 ${body.value.text}`;
    case "reasoning":
      return `🤔 ${body.value.text}`;
    case "tool": {
      const phase = ToolEvent_Phase[body.value.phase]?.toLowerCase() ?? "?";
      const tool = body.value.tool;
      switch (tool.case) {
        case "command": {
          if (body.value.phase !== ToolEvent_Phase.COMPLETED) return `🔧 $ ${tool.value.command}`;
          const output = tool.value.aggregatedOutput;
          const head = `🔧 $ ${tool.value.command} → exit ${tool.value.exitCode ?? "?"}`;
          return output === "" ? head : `${head}\n${indent(output.slice(0, 2000))}`;
        }
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
        case undefined:
          return "";
      }
      return "";
    }
    case "usage":
      return `📊 usage this turn: ${usageLine(body.value.turn)}; thread total: ${usageLine(body.value.thread)}`;
    case "error":
      return `⚠ ${errorLine(body.value)}`;
    case "notice":
      return body.value.kind === NoticeEvent_Kind.THREAD_STORED
        ? ""
        : `ℹ ${NoticeEvent_Kind[body.value.kind]?.toLowerCase() ?? "notice"}: ${body.value.message}`;
    case "passthrough":
      return `· ${body.value.type}`;
    case "toolCall":
      return `🆔 ${body.value.kind} ${body.value.namespace === "" ? "" : `${body.value.namespace}/`}${body.value.name} [${body.value.callId}]`;
    case "toolResult":
      return `🆔 result [${body.value.callId}] ${body.value.output.length} chars`;
    case "hostToolCall":
      return `🧰 host tool ${body.value.toolName} ${body.value.argumentsJson}`;
    case "threadLost":
      return `⚠ thread ${body.value.threadId} lost (${body.value.reason}); ${body.value.action.replaceAll("_", " ")}`;
    case "turnEnd": {
      const end = body.value;
      const outcome = TurnEnd_Outcome[end.outcome]?.toLowerCase() ?? "?";
      const lines = [`■ turn ${outcome} in ${end.durationMs} ms — ${end.message || "ok"}`];
      if (end.usage !== undefined) lines.push(`  usage: ${usageLine(end.usage)}`);
      if (end.error !== undefined) lines.push(`  error: ${errorLine(end.error)}`);
      if (end.structuredOutputJson !== "") lines.push(`  output: ${end.structuredOutputJson}`);
      if (end.diff !== undefined && end.diff.status !== "not_git") {
        lines.push(`  diff (${end.diff.status}): ${end.diff.files.join(", ") || "no changes"}`);
      }
      if (end.outcome === TurnEnd_Outcome.CRASHED && end.stderrTail !== "") {
        lines.push(`  stderr tail:\n${indent(end.stderrTail)}`);
      }
      return lines.join("\n");
    }
    case undefined:
      return "";
  }
}
