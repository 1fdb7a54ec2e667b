// The dev host's output for a person: one short line per fact, each fact once. A message the plugin
// repeats (a config warning, then the turn's error event, then turn_end's message and error) and the
// usage (the usage event, then turn_end's) are printed the first time only.
import {
  type ErrorEvent,
  ToolEvent_Phase,
  type TurnEnd,
  TurnEnd_Outcome,
  type TurnEvent,
} from "../../internal/provider/provider-protocol.js";
import type { HostFact, HostReport } from "./host-report.js";
import {
  commandResult,
  errorHead,
  renderEvent,
  turnEndDetails,
  usageText,
} from "./render-event.js";

type UsageEvent = Extract<TurnEvent["event"], { case: "usage" }>["value"];

/** Options of {@link TextReport}. */
export interface TextReportOptions {
  /** Said after a thread resumed from before this session, e.g. how to start a new one. */
  resumeHint?: string;
}

export class TextReport implements HostReport {
  readonly #print: (line: string) => void;
  readonly #resumeHint: string | undefined;
  /** Messages already printed (diagnostics, errors, turn end messages). */
  readonly #said: string[] = [];
  /** Threads this session has seen start or resume. */
  readonly #threads = new Set<string>();
  #lastLine = "";
  /** The current turn's latest usage event and the errors it printed. */
  #usage: UsageEvent | undefined;
  #errors: ErrorEvent[] = [];

  constructor(print: (line: string) => void, options: TextReportOptions = {}) {
    this.#print = print;
    this.#resumeHint = options.resumeHint;
  }

  report(fact: HostFact): void {
    switch (fact.type) {
      case "mock_model":
        this.#say(`mock model at ${fact.url}: offline, with throw-away state_dir and CODEX_HOME`);
        return;
      case "live":
        this.#say("codex's own provider and login (live)");
        return;
      case "config_file":
        this.#say(
          fact.provider === undefined
            ? `config ${fact.file} (a plugin config)`
            : `config ${fact.file} (provider ${fact.provider} of a daemon config.json)`,
        );
        return;
      case "plugin":
        this.#say(
          `plugin ${fact.name} ${fact.version} (protocol ${fact.protocol_version}) at ${fact.address}`,
        );
        return;
      case "codex":
        this.#say(
          fact.ready
            ? `codex ${fact.version} at ${fact.path} (${fact.source})`
            : `codex not ready: ${this.#once(fact.degraded_reason)}`,
        );
        return;
      case "diagnostic":
        this.#say(
          `config ${fact.severity}: ${fact.field === "" ? "" : `${fact.field}: `}${this.#once(fact.summary)}`,
        );
        return;
      case "thread_reset":
        this.#say(
          fact.previous_thread_id === ""
            ? `agent ${fact.agent_id} has no thread yet; its next turn starts one`
            : `thread ${fact.previous_thread_id} of agent ${fact.agent_id} reset; the next turn starts a new thread`,
        );
        return;
      case "turn":
        this.#usage = undefined;
        this.#errors = [];
        this.#say(`\n> ${fact.prompt}`);
        return;
      case "event":
        this.#event(fact.event);
        return;
      case "plugin_stopped":
        this.#say(
          `plugin stopped in ${fact.duration_ms} ms (${fact.signal ?? `exit ${fact.exit_code}`})`,
        );
        return;
      case "summary":
        if (fact.mock_requests !== undefined) {
          this.#say(`the mock model served ${fact.mock_requests} requests`);
        }
        return;
    }
  }

  #event(event: TurnEvent): void {
    const body = event.event;
    switch (body.case) {
      case "turnStarted": {
        const started = body.value;
        const earlier = started.resumed && !this.#threads.has(started.threadId);
        this.#threads.add(started.threadId);
        const hint = earlier && this.#resumeHint !== undefined ? ` (${this.#resumeHint})` : "";
        this.#say(
          `▶ ${started.resumed ? "resumed" : "new"} thread ${started.threadId}${hint}` +
            ` · model ${started.model || "codex default"} · sandbox ${started.sandbox}` +
            (started.worktreePath === "" ? "" : ` · worktree ${started.worktreePath}`),
        );
        return;
      }
      case "usage":
        this.#usage = body.value;
        return;
      case "error":
        this.#errors.push(body.value);
        this.#say(`⚠ ${errorHead(body.value)}: ${this.#once(body.value.message)}`);
        return;
      case "tool": {
        const tool = body.value.tool;
        if (tool.case !== "command") break;
        const start = `🔧 $ ${tool.value.command}`;
        if (body.value.phase !== ToolEvent_Phase.COMPLETED) {
          this.#say(start);
          return;
        }
        // Right under its own start line, the command need not be repeated.
        const head = this.#lastLine === start ? "   → " : `${start} → `;
        this.#say(commandResult(head, tool.value.exitCode, tool.value.aggregatedOutput));
        return;
      }
      case "turnEnd":
        this.#turnEnd(body.value);
        return;
      default:
        break;
    }
    const line = renderEvent(event);
    if (line !== "") this.#say(line);
  }

  #turnEnd(end: TurnEnd): void {
    const outcome = TurnEnd_Outcome[end.outcome]?.toLowerCase() ?? "?";
    const repeated =
      end.message === "" ||
      end.message === `turn ${outcome}` ||
      this.#errors.some((error) => error.message === end.message);
    const lines = [
      `■ turn ${outcome} in ${end.durationMs} ms${repeated ? "" : ` — ${this.#once(end.message)}`}`,
    ];
    const turn = end.usage ?? this.#usage?.turn;
    if (turn !== undefined) {
      const thread = this.#usage?.thread;
      const total =
        thread === undefined || usageText(thread) === usageText(turn)
          ? ""
          : `; thread total ${usageText(thread)}`;
      lines.push(`  usage: ${usageText(turn)}${total}`);
    }
    const error = end.error;
    if (
      error !== undefined &&
      !this.#errors.some((seen) => seen.code === error.code && seen.message === error.message)
    ) {
      lines.push(`  error: ${errorHead(error)}: ${this.#once(error.message)}`);
    }
    lines.push(...turnEndDetails(end));
    this.#say(lines.join("\n"));
  }

  /** The message the first time; after that a pointer to where it was said. */
  #once(message: string): string {
    if (message === "") return message;
    if (this.#said.some((said) => said.includes(message))) return "as above";
    this.#said.push(message);
    return message;
  }

  #say(text: string): void {
    this.#print(text);
    this.#lastLine = text.split("\n").at(-1) ?? "";
  }
}
