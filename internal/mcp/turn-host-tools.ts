// The host tools of one running turn: the agent's socket listener, and codex's registration of the
// mcp-host bridge. Each call codex makes is handed to the turn as a host_tool_call event.
import type { Logger } from "pino";

import type { ResolvedMcpHost } from "../config/load-config.js";
import { AppError } from "../core/app-error.js";
import type { CanonicalEvent } from "../core/canonical-event.js";
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
  PLEXUM_NODE_PATH,
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
  /** Receives each host_tool_call event as codex makes the call. */
  emit: (event: CanonicalEvent) => void;
  logger: Logger;
  /** The plugin's environment, for PLEXUM_MCP_LOG_LEVEL. */
  env?: NodeJS.ProcessEnv;
  /** The node the bridge runs on (default: the plugin's own, process.execPath). */
  nodePath?: string;
}

/** One turn's host tools; open() before codex starts, close() when the turn is over. */
export class TurnHostTools {
  /** Codex's registration of the bridge for this turn. */
  readonly registration: McpServerRegistration;
  readonly #listener: HostToolListener;
  readonly #signal: AbortSignal;
  readonly #onAbort: () => void;

  private constructor(
    registration: McpServerRegistration,
    listener: HostToolListener,
    options: TurnHostToolsOptions,
  ) {
    this.registration = registration;
    this.#listener = listener;
    this.#signal = options.signal;
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
    const listener = await HostToolListener.listen({
      socketPath,
      agentId: options.agentId,
      tools: options.tools,
      hostTimeoutMs: options.mcpHost.hostTimeoutMs,
      logger: options.logger,
      onCall: (call: HostToolCall) => options.emit({ kind: "host_tool_call", ...call }),
    });
    const logLevel = options.env?.[PLEXUM_MCP_LOG_LEVEL];
    const registration: McpServerRegistration = {
      name: mcpServerName(options.agentId),
      command,
      args: [MCP_HOST_SUBCOMMAND],
      env: {
        [PLEXUM_MCP_SOCKET]: socketPath,
        [PLEXUM_MCP_AGENT_ID]: options.agentId,
        [PLEXUM_NODE_PATH]: options.nodePath ?? process.execPath,
        ...(logLevel === undefined || logLevel === "" ? {} : { [PLEXUM_MCP_LOG_LEVEL]: logLevel }),
      },
      startupTimeoutSec: options.mcpHost.startupTimeoutMs / 1000,
      toolTimeoutSec: options.mcpHost.toolTimeoutMs / 1000,
    };
    const tools = new TurnHostTools(registration, listener, options);
    if (options.signal.aborted) tools.#onAbort();
    return tools;
  }

  /** Routes the host's tool_result to the call waiting for it, if one is. */
  answer(requestId: string, answer: HostToolAnswer): AnswerOutcome {
    return this.#listener.answer(requestId, answer);
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
