// The bridge's end of the agent socket: connects on first use, says hello with its agent id, then
// sends requests and matches answers by id. Every failure is fast and phrased for the model and the
// operator: a missing or dead socket means "no turn of this agent is running".
import { createConnection, type Socket } from "node:net";

import type { Logger } from "pino";

import { encodeFrame, FrameDecoder } from "./frame.js";
import {
  type ContentBlock,
  parsePluginMessage,
  type PluginMessage,
  SOCKET_PROTOCOL_VERSION,
  type ToolInfo,
} from "./socket-protocol.js";

/** Connect plus hello must finish within this; the issue asks for failure within about 1 s. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 1000;

export interface PluginSocketClientOptions {
  socketPath: string;
  agentId: string;
  connectTimeoutMs?: number;
  logger: Logger;
}

/** A tool call's outcome as MCP needs it. */
export interface ToolCallOutcome {
  content: ContentBlock[];
  isError: boolean;
}

/** The plugin could not be reached or refused us; `message` is meant for the model and operator. */
export class PluginUnavailableError extends Error {
  override name = "PluginUnavailableError";
}

type Waiter = {
  resolve: (message: PluginMessage) => void;
  reject: (error: Error) => void;
};

interface Link {
  socket: Socket;
  ready: Promise<void>;
  waiters: Map<number, Waiter>;
}

/** One logical connection to the plugin, re-established after the plugin closes it. */
export class PluginSocketClient {
  readonly #options: PluginSocketClientOptions;
  readonly #logger: Logger;
  #link: Link | undefined;
  #nextId = 1;
  #closed = false;

  constructor(options: PluginSocketClientOptions) {
    this.#options = options;
    this.#logger = options.logger;
  }

  /** The tools the agent's turn offers. */
  async listTools(): Promise<ToolInfo[]> {
    const answer = await this.#request((id) => ({ type: "list_tools", id }));
    if (answer.type !== "tools") throw this.#unexpected(answer);
    return answer.tools;
  }

  /** Forwards one call; resolves with the host's result, or a timeout or turn-end error result. */
  async callTool(
    name: string,
    args: Record<string, unknown>,
    callId: string | undefined,
  ): Promise<ToolCallOutcome> {
    const answer = await this.#request((id) => ({
      type: "call_tool",
      id,
      name,
      arguments: args,
      ...(callId === undefined ? {} : { call_id: callId }),
    }));
    if (answer.type !== "tool_result") throw this.#unexpected(answer);
    return { content: answer.content, isError: answer.is_error };
  }

  /** Closes the connection; pending requests fail. */
  close(): void {
    this.#closed = true;
    this.#link?.socket.destroy();
    this.#link = undefined;
  }

  async #request(build: (id: number) => Record<string, unknown>): Promise<PluginMessage> {
    if (this.#closed) throw new PluginUnavailableError("the bridge is shutting down");
    const link = this.#connect();
    await link.ready;
    const id = this.#nextId++;
    return new Promise<PluginMessage>((resolve, reject) => {
      if (link.socket.destroyed) {
        reject(this.#closedError());
        return;
      }
      link.waiters.set(id, { resolve, reject });
      link.socket.write(encodeFrame(build(id)));
    });
  }

  #connect(): Link {
    if (this.#link !== undefined && !this.#link.socket.destroyed) return this.#link;
    const { socketPath, agentId } = this.#options;
    const timeoutMs = this.#options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const socket = createConnection(socketPath);
    const waiters = new Map<number, Waiter>();
    const decoder = new FrameDecoder();
    let welcomed = false;
    let failHandshake: (error: Error) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      failHandshake = reject;
      const timer = setTimeout(
        () =>
          socket.destroy(
            new PluginUnavailableError(
              `the Plexum provider plugin did not answer on ${socketPath} within ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
      timer.unref();
      socket.once("connect", () => {
        socket.write(
          encodeFrame({ type: "hello", protocol: SOCKET_PROTOCOL_VERSION, agent_id: agentId }),
        );
      });
      const onWelcome = (): void => {
        clearTimeout(timer);
        welcomed = true;
        resolve();
      };
      socket.on("data", (chunk: Buffer) => {
        let frames: Record<string, unknown>[];
        try {
          frames = decoder.push(chunk);
        } catch (error) {
          socket.destroy(
            new PluginUnavailableError(`the plugin sent a bad frame: ${(error as Error).message}`),
          );
          return;
        }
        for (const frame of frames) {
          const parsed = parsePluginMessage(frame);
          if (!parsed.ok) {
            socket.destroy(
              new PluginUnavailableError(`the plugin sent an invalid message: ${parsed.problem}`),
            );
            return;
          }
          const message = parsed.message;
          if (message.type === "refused") {
            socket.destroy(
              new PluginUnavailableError(
                `the Plexum provider plugin refused this bridge (${message.code}): ${message.message}`,
              ),
            );
            return;
          }
          if (message.type === "welcome") {
            onWelcome();
            continue;
          }
          const waiter = waiters.get(message.id);
          if (waiter === undefined) {
            this.#logger.warn({ id: message.id, type: message.type }, "answer to no request");
            continue;
          }
          waiters.delete(message.id);
          waiter.resolve(message);
        }
      });
      socket.on("close", () => clearTimeout(timer));
    });
    // Handled here so a failed connect never becomes an unhandled rejection; callers await it.
    ready.catch(() => undefined);
    let failure: Error | undefined;
    socket.on("error", (error: NodeJS.ErrnoException) => {
      failure ??= this.#explain(error);
      failHandshake(failure);
    });
    socket.on("close", () => {
      const error = failure ?? this.#closedError();
      if (!welcomed) failHandshake(error);
      for (const waiter of waiters.values()) waiter.reject(error);
      waiters.clear();
      if (this.#link?.socket === socket) this.#link = undefined;
    });
    this.#link = { socket, ready, waiters };
    return this.#link;
  }

  #explain(error: NodeJS.ErrnoException): Error {
    if (error instanceof PluginUnavailableError) return error;
    const { socketPath, agentId } = this.#options;
    const agent = JSON.stringify(agentId);
    switch (error.code) {
      case "ENOENT":
        return new PluginUnavailableError(
          `host tools are unavailable: no turn of agent ${agent} is running ` +
            `(the Plexum provider plugin's socket ${socketPath} does not exist)`,
        );
      case "ECONNREFUSED":
        return new PluginUnavailableError(
          `host tools are unavailable: nothing listens on ${socketPath}; the turn of agent ${agent} ` +
            "has ended or the Plexum provider plugin is gone",
        );
      default:
        return new PluginUnavailableError(
          `host tools are unavailable: cannot reach the Plexum provider plugin on ${socketPath}: ${error.message}`,
        );
    }
  }

  #closedError(): PluginUnavailableError {
    return new PluginUnavailableError(
      "the Plexum provider plugin closed the connection before answering: the turn ended or was cancelled",
    );
  }

  #unexpected(message: PluginMessage): Error {
    return new PluginUnavailableError(
      `the plugin answered with an unexpected ${message.type} message`,
    );
  }
}
