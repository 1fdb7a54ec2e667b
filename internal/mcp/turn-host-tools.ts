// The host tools of one running turn: the agent's socket listener, codex's registration of the
// mcp-host bridge, and the merge of the host-tool calls into the turn's event stream.
import type { Logger } from "pino";

import type { ResolvedMcpHost } from "../config/load-config.js";
import { AppError } from "../core/app-error.js";
import type { CanonicalEvent, EventBatch } from "../core/canonical-event.js";
import {
  type AnswerOutcome,
  type HostToolAnswer,
  type HostToolCall,
  HostToolListener,
} from "./host-tool-listener.js";
import { type HostToolSpec, mcpServerName } from "./host-tools.js";
import {
  MCP_HOST_SUBCOMMAND,
  PLEXUM_MCP_AGENT_ID,
  PLEXUM_MCP_LOG_LEVEL,
  PLEXUM_MCP_SOCKET,
} from "./mcp-env.js";
import { type McpServerRegistration } from "./mcp-registration.js";
import { agentSocketPath } from "./socket-path.js";

export interface TurnHostToolsOptions {
  agentId: string;
  tools: readonly HostToolSpec[];
  stateDir: string;
  mcpHost: ResolvedMcpHost;
  /** The plugin's own executable; used unless mcp_host.command is set. */
  selfCommand: string | undefined;
  /** Aborted when the turn is cancelled: pending calls are answered at once. */
  signal: AbortSignal;
  logger: Logger;
  /** The plugin's environment, for PLEXUM_MCP_LOG_LEVEL. */
  env?: NodeJS.ProcessEnv;
}

/** A small unbounded FIFO whose `ready` promise settles when an item is waiting. */
class EventQueue<T> {
  #items: T[] = [];
  #wake: (() => void) | undefined;
  #ready: Promise<void> | undefined;

  push(item: T): void {
    this.#items.push(item);
    this.#wake?.();
    this.#wake = undefined;
    this.#ready = undefined;
  }

  shift(): T | undefined {
    return this.#items.shift();
  }

  /** The same promise until an item arrives, so racing it repeatedly adds no listeners. */
  ready(): Promise<void> {
    if (this.#items.length > 0) return Promise.resolve();
    this.#ready ??= new Promise<void>((resolve) => {
      this.#wake = resolve;
    });
    return this.#ready;
  }
}

/** One turn's host tools; open() before codex starts, close() when the turn is over. */
export class TurnHostTools {
  /** Codex's registration of the bridge for this turn. */
  readonly registration: McpServerRegistration;
  readonly #listener: HostToolListener;
  readonly #queue: EventQueue<CanonicalEvent>;
  readonly #signal: AbortSignal;
  readonly #onAbort: () => void;
  readonly #logger: Logger;

  private constructor(
    registration: McpServerRegistration,
    listener: HostToolListener,
    queue: EventQueue<CanonicalEvent>,
    options: TurnHostToolsOptions,
  ) {
    this.registration = registration;
    this.#listener = listener;
    this.#queue = queue;
    this.#signal = options.signal;
    this.#logger = options.logger;
    this.#onAbort = () => {
      void this.close(`the turn was cancelled: ${reasonText(options.signal.reason)}`);
    };
    options.signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** Listens on the agent's socket and builds codex's registration of the bridge. */
  static async open(options: TurnHostToolsOptions): Promise<TurnHostTools> {
    const command = options.mcpHost.command ?? options.selfCommand;
    if (command === undefined) {
      throw new AppError(
        "NOT_CONFIGURED",
        "the turn offers host tools, but the plugin's own path is unknown; set mcp_host.command",
        { fields: ["mcp_host.command"] },
      );
    }
    const socketPath = agentSocketPath(options.agentId, {
      stateDir: options.stateDir,
      socketDir: options.mcpHost.socketDir,
    });
    const queue = new EventQueue<CanonicalEvent>();
    const listener = await HostToolListener.listen({
      socketPath,
      agentId: options.agentId,
      tools: options.tools,
      hostTimeoutMs: options.mcpHost.hostTimeoutMs,
      logger: options.logger,
      onCall: (call: HostToolCall) => queue.push({ kind: "host_tool_call", ...call }),
    });
    const logLevel = options.env?.[PLEXUM_MCP_LOG_LEVEL];
    const registration: McpServerRegistration = {
      name: mcpServerName(options.agentId),
      command,
      args: [MCP_HOST_SUBCOMMAND],
      env: {
        [PLEXUM_MCP_SOCKET]: socketPath,
        [PLEXUM_MCP_AGENT_ID]: options.agentId,
        ...(logLevel === undefined || logLevel === "" ? {} : { [PLEXUM_MCP_LOG_LEVEL]: logLevel }),
      },
      startupTimeoutSec: options.mcpHost.startupTimeoutMs / 1000,
      toolTimeoutSec: options.mcpHost.toolTimeoutMs / 1000,
    };
    const tools = new TurnHostTools(registration, listener, queue, options);
    if (options.signal.aborted) tools.#onAbort();
    return tools;
  }

  /**
   * The turn's events with host-tool calls (and notices about the host's answers) merged in as
   * they happen. The listener closes before `turn_end` is passed on, so nothing follows it.
   */
  async *interleave(
    events: AsyncIterable<EventBatch>,
  ): AsyncGenerator<EventBatch, void, undefined> {
    const iterator = events[Symbol.asyncIterator]();
    type Next = { source: "turn"; result: IteratorResult<EventBatch> } | { source: "host" };
    let turnNext: Promise<Next> | undefined;
    // Both kept until they win, so racing them again adds no callbacks.
    let hostNext: Promise<Next> | undefined;
    try {
      for (;;) {
        for (let item = this.#queue.shift(); item !== undefined; item = this.#queue.shift()) {
          yield [item];
        }
        turnNext ??= iterator.next().then((result) => ({ source: "turn", result }) as const);
        hostNext ??= this.#queue.ready().then(() => ({ source: "host" }) as const);
        const next = await Promise.race([turnNext, hostNext]);
        if (next.source === "host") {
          hostNext = undefined;
          continue;
        }
        turnNext = undefined;
        if (next.result.done === true) return;
        const batch = next.result.value;
        if (batch.at(-1)?.kind === "turn_end") {
          void this.close("the turn ended");
          yield batch;
          return;
        }
        yield batch;
      }
    } finally {
      // Pending only if the consumer stopped early; the turn's generator stops codex itself then.
      if (turnNext === undefined) await iterator.return?.();
      else void turnNext.then(() => iterator.return?.());
    }
  }

  /** Routes the host's tool_result; an unknown or late request id becomes a warning notice. */
  answer(requestId: string, answer: HostToolAnswer): AnswerOutcome {
    const outcome = this.#listener.answer(requestId, answer);
    if (outcome === "unknown_request") {
      this.#logger.warn({ request_id: requestId }, "tool_result for an unknown or finished call");
      this.#queue.push({
        kind: "notice",
        notice: "warning",
        message:
          `tool_result for request ${JSON.stringify(requestId)} was ignored: no host tool call with ` +
          "that id is waiting (it timed out, the turn moved on, or the id is wrong)",
      });
    }
    return outcome;
  }

  /** Answers pending calls with `reason`, stops listening and removes the socket. */
  close(reason: string): Promise<void> {
    this.#signal.removeEventListener("abort", this.#onAbort);
    return this.#listener.close(reason);
  }
}

function reasonText(reason: unknown): string {
  const message = (reason as { message?: unknown } | null | undefined)?.message;
  return typeof message === "string" && message !== "" ? message : "cancelled by the host";
}
