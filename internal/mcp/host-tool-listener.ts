// The plugin's end of an agent's host-tool socket, open only while that agent's turn runs. The
// mcp-host bridge that codex started connects, proves which agent it serves, lists the turn's
// tools and forwards calls; each call goes out to the host as an event and comes back through
// answer(). Every call gets exactly one result: the host's, a timeout, or the turn's end.
import { randomUUID } from "node:crypto";
import { chmod, unlink } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";

import type { Logger } from "pino";

import { jsonTextProblem } from "../config/limits.js";
import { AppError } from "../core/app-error.js";
import { waitAtMost } from "../core/delay.js";
import type { FrameError } from "./frame.js";
import { encodeFrame, FrameDecoder, MAX_FRAME_BYTES } from "./frame.js";
import { type HostToolSpec } from "./host-tools.js";
import { removeStaleSocket } from "./socket-file.js";
import { ensureSocketDir } from "./socket-path.js";
import {
  type BridgeMessage,
  type ContentBlock,
  contentBlockSchema,
  parseBridgeMessage,
  type PluginMessage,
  type RefusalCode,
  SOCKET_PROTOCOL_VERSION,
} from "./socket-protocol.js";

/** A call for the host to answer. */
export interface HostToolCall {
  /** The plugin's id for this call; the host echoes it in its result. */
  requestId: string;
  /** codex's call id (the model's function_call call_id), or "". */
  callId: string;
  toolName: string;
  argumentsJson: string;
}

/** The host's answer to one call. */
export interface HostToolAnswer {
  text: string;
  isError: boolean;
  /** An MCP content array as JSON; "" means use `text`. */
  contentJson: string;
}

export interface HostToolListenerOptions {
  socketPath: string;
  agentId: string;
  tools: readonly HostToolSpec[];
  /** How long a call may wait for the host's answer. */
  hostTimeoutMs: number;
  /** How long a new connection may take to say hello; default 5 s. */
  helloTimeoutMs?: number;
  logger: Logger;
  /** Receives every accepted call; answer it with answer(call.requestId, …). */
  onCall: (call: HostToolCall) => void;
}

const DEFAULT_HELLO_TIMEOUT_MS = 5000;
// A refused or closing connection gets this long to read its last frame before it is destroyed.
const LINGER_MS = 1000;

interface Connection {
  readonly socket: Socket;
  readonly id: number;
  state: "hello" | "ready" | "closed";
}

interface PendingCall {
  readonly connection: Connection;
  /** The bridge's request id. */
  readonly frameId: number;
  readonly toolName: string;
  readonly timer: NodeJS.Timeout;
  readonly startedAt: number;
}

/** What answer() did with a host result. */
export type AnswerOutcome = "answered" | "unknown_request";

/** The per-turn listener on an agent's socket. */
export class HostToolListener {
  readonly #options: HostToolListenerOptions;
  readonly #server: Server;
  readonly #tools: ReadonlyMap<string, HostToolSpec>;
  readonly #connections = new Set<Connection>();
  readonly #pending = new Map<string, PendingCall>();
  readonly #logger: Logger;
  #nextConnectionId = 1;
  #closed: Promise<void> | undefined;

  private constructor(options: HostToolListenerOptions, server: Server) {
    this.#options = options;
    this.#server = server;
    this.#tools = new Map(options.tools.map((tool) => [tool.name, tool]));
    this.#logger = options.logger.child({ socket: options.socketPath });
    server.on("connection", (socket) => this.#accept(socket));
  }

  /**
   * Prepares the socket directory, removes a stale socket left by a dead plugin, listens and
   * makes the socket 0600. Throws AppError MCP_SOCKET_UNAVAILABLE, also when a live process
   * already listens on the path.
   */
  static async listen(options: HostToolListenerOptions): Promise<HostToolListener> {
    const path = options.socketPath;
    await ensureSocketDir(dirname(path));
    await removeStaleSocket(path);
    const server = createServer({ allowHalfOpen: false });
    const listener = new HostToolListener(options, server);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(path, () => {
          server.off("error", reject);
          resolve();
        });
      });
      await chmod(path, 0o600);
    } catch (error) {
      server.close();
      throw new AppError(
        "MCP_SOCKET_UNAVAILABLE",
        `cannot listen on host-tool socket ${path}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    server.on("error", (error) => listener.#logger.warn({ err: error }, "host-tool socket error"));
    listener.#logger.debug({ tools: options.tools.length }, "host-tool socket listening");
    return listener;
  }

  /** Calls still waiting for the host. */
  get pendingCalls(): number {
    return this.#pending.size;
  }

  /** Delivers the host's result for `requestId` to the bridge that asked. */
  answer(requestId: string, answer: HostToolAnswer): AnswerOutcome {
    const pending = this.#pending.get(requestId);
    if (pending === undefined) return "unknown_request";
    const content = contentOf(answer);
    if (typeof content === "string") {
      this.#logger.warn({ request_id: requestId, problem: content }, "invalid host tool result");
      this.#finish(requestId, {
        content: textContent(
          `the host's result for tool "${pending.toolName}" was unusable: content_json ${content}`,
        ),
        isError: true,
      });
      return "answered";
    }
    this.#finish(requestId, { content, isError: answer.isError });
    return "answered";
  }

  /**
   * Stops listening and removes the socket; every pending call is answered with an error saying
   * `reason`, then the connections are closed. Idempotent.
   */
  close(reason: string): Promise<void> {
    this.#closed ??= this.#close(reason);
    return this.#closed;
  }

  async #close(reason: string): Promise<void> {
    const serverClosed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await unlink(this.#options.socketPath).catch(() => undefined);
    for (const [requestId, pending] of this.#pending) {
      this.#finish(requestId, {
        content: textContent(
          `host tool "${pending.toolName}" got no result; ${reason}. Do not retry it in this turn.`,
        ),
        isError: true,
      });
    }
    for (const connection of this.#connections) this.#endConnection(connection);
    await waitAtMost(serverClosed, LINGER_MS + 100);
    this.#logger.debug({ reason }, "host-tool socket closed");
  }

  #accept(socket: Socket): void {
    const connection: Connection = { socket, id: this.#nextConnectionId++, state: "hello" };
    if (this.#closed !== undefined) {
      socket.destroy();
      return;
    }
    this.#connections.add(connection);
    const decoder = new FrameDecoder();
    const helloTimer = setTimeout(
      () => this.#refuse(connection, "HELLO_TIMEOUT", "no hello within the allowed time; closing"),
      this.#options.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS,
    );
    helloTimer.unref();
    socket.on("data", (chunk: Buffer) => {
      if (connection.state === "closed") return;
      let messages: Record<string, unknown>[];
      try {
        messages = decoder.push(chunk);
      } catch (error) {
        this.#refuse(connection, "MALFORMED_FRAME", (error as FrameError).message);
        return;
      }
      for (const message of messages) {
        // A message before this one may have closed the connection.
        if (isClosed(connection)) return;
        if (connection.state === "hello") clearTimeout(helloTimer);
        this.#handle(connection, message);
      }
    });
    socket.on("error", (error) =>
      this.#logger.debug({ err: error, connection: connection.id }, "host-tool connection error"),
    );
    socket.on("close", () => {
      clearTimeout(helloTimer);
      connection.state = "closed";
      this.#connections.delete(connection);
      for (const [requestId, pending] of this.#pending) {
        if (pending.connection !== connection) continue;
        // The bridge went away (codex stopped it); the host's late answer will find nothing.
        clearTimeout(pending.timer);
        this.#pending.delete(requestId);
        this.#logger.info(
          { request_id: requestId, tool: pending.toolName },
          "bridge disconnected while a host tool call was pending",
        );
      }
    });
  }

  #handle(connection: Connection, raw: Record<string, unknown>): void {
    const parsed = parseBridgeMessage(raw);
    if (!parsed.ok) {
      this.#refuse(connection, "MALFORMED_FRAME", `invalid message: ${parsed.problem}`);
      return;
    }
    const message = parsed.message;
    if (connection.state === "hello") {
      this.#greet(connection, message);
      return;
    }
    switch (message.type) {
      case "hello":
        this.#refuse(connection, "MALFORMED_FRAME", "hello sent twice");
        return;
      case "list_tools":
        this.#send(connection, {
          type: "tools",
          id: message.id,
          tools: [...this.#tools.values()].map((tool) => ({
            name: tool.name,
            description: tool.description,
            input_schema: tool.inputSchema,
          })),
        });
        return;
      case "call_tool":
        this.#startCall(connection, message);
        return;
    }
  }

  #greet(connection: Connection, message: BridgeMessage): void {
    if (message.type !== "hello") {
      this.#refuse(connection, "MALFORMED_FRAME", `expected hello first, got ${message.type}`);
      return;
    }
    if (message.protocol !== SOCKET_PROTOCOL_VERSION) {
      this.#refuse(
        connection,
        "PROTOCOL_VERSION",
        `the plugin speaks socket protocol ${SOCKET_PROTOCOL_VERSION}, the bridge ${message.protocol}; ` +
          "the bridge and the plugin must come from the same build",
      );
      return;
    }
    if (message.agent_id !== this.#options.agentId) {
      this.#refuse(
        connection,
        "AGENT_MISMATCH",
        `this socket serves agent ${JSON.stringify(this.#options.agentId)}, ` +
          `not ${JSON.stringify(message.agent_id)}`,
      );
      return;
    }
    connection.state = "ready";
    this.#send(connection, { type: "welcome", protocol: SOCKET_PROTOCOL_VERSION });
  }

  #startCall(connection: Connection, message: Extract<BridgeMessage, { type: "call_tool" }>): void {
    const tool = this.#tools.get(message.name);
    if (tool === undefined) {
      const offered = [...this.#tools.keys()].join(", ");
      this.#send(connection, {
        type: "tool_result",
        id: message.id,
        content: textContent(
          `unknown host tool "${message.name}"; this turn offers: ${offered || "(none)"}`,
        ),
        is_error: true,
      });
      return;
    }
    if (this.#closed !== undefined) {
      this.#send(connection, {
        type: "tool_result",
        id: message.id,
        content: textContent(`host tool "${tool.name}" is unavailable: the turn is ending`),
        is_error: true,
      });
      return;
    }
    const requestId = randomUUID();
    const timeoutMs = this.#options.hostTimeoutMs;
    const timer = setTimeout(() => {
      this.#logger.warn({ request_id: requestId, tool: tool.name }, "host tool call timed out");
      this.#finish(requestId, {
        content: textContent(
          `host tool "${tool.name}" timed out: the host did not answer within ` +
            `${formatSeconds(timeoutMs)} (mcp_host.host_timeout_seconds)`,
        ),
        isError: true,
      });
    }, timeoutMs);
    timer.unref();
    this.#pending.set(requestId, {
      connection,
      frameId: message.id,
      toolName: tool.name,
      timer,
      startedAt: performance.now(),
    });
    this.#options.onCall({
      requestId,
      callId: message.call_id ?? "",
      toolName: tool.name,
      argumentsJson: JSON.stringify(message.arguments),
    });
  }

  #finish(requestId: string, result: { content: ContentBlock[]; isError: boolean }): void {
    const pending = this.#pending.get(requestId);
    if (pending === undefined) return;
    this.#pending.delete(requestId);
    clearTimeout(pending.timer);
    this.#logger.debug(
      {
        request_id: requestId,
        tool: pending.toolName,
        is_error: result.isError,
        wait_ms: Math.round(performance.now() - pending.startedAt),
      },
      "host tool call answered",
    );
    this.#send(
      pending.connection,
      {
        type: "tool_result",
        id: pending.frameId,
        content: result.content,
        is_error: result.isError,
      },
      // A result the frame cannot carry still answers the call, as an error naming the bound.
      (problem) => ({
        type: "tool_result",
        id: pending.frameId,
        content: textContent(
          `the host's result for tool "${pending.toolName}" cannot be passed on: ${problem}`,
        ),
        is_error: true,
      }),
    );
  }

  #send(
    connection: Connection,
    message: PluginMessage,
    instead?: (problem: string) => PluginMessage,
  ): void {
    if (connection.state === "closed" || connection.socket.destroyed) return;
    let frame: Buffer;
    try {
      frame = encodeFrame(message);
    } catch (error) {
      if (instead === undefined) throw error;
      const problem = error instanceof Error ? error.message : String(error);
      this.#logger.warn({ problem }, "host tool result not encodable");
      frame = encodeFrame(instead(problem));
    }
    connection.socket.write(frame);
  }

  // Rejects the connection: a refused frame saying why, then the connection is closed. Other
  // connections are untouched.
  #refuse(connection: Connection, code: RefusalCode, message: string): void {
    if (connection.state === "closed") return;
    this.#logger.warn({ connection: connection.id, code, problem: message }, "bridge refused");
    this.#send(connection, { type: "refused", code, message });
    connection.state = "closed";
    this.#endConnection(connection);
  }

  #endConnection(connection: Connection): void {
    connection.socket.end();
    setTimeout(() => connection.socket.destroy(), LINGER_MS).unref();
  }
}

function isClosed(connection: Connection): boolean {
  return connection.state === "closed";
}

function textContent(text: string): ContentBlock[] {
  return [{ type: "text", text }];
}

// The MCP content of a host answer, or a string saying why content_json is unusable.
function contentOf(answer: HostToolAnswer): ContentBlock[] | string {
  if (answer.contentJson === "") return textContent(answer.text);
  // Bounded before parsing: the blocks are serialised again (recursively) for the bridge.
  const problem = jsonTextProblem(answer.contentJson, MAX_FRAME_BYTES);
  if (problem !== undefined) return problem;
  let value: unknown;
  try {
    value = JSON.parse(answer.contentJson);
  } catch (error) {
    return `is not valid JSON (${(error as Error).message})`;
  }
  if (!Array.isArray(value)) return "must be a JSON array of MCP content blocks";
  const blocks: ContentBlock[] = [];
  for (const [index, item] of value.entries()) {
    const parsed = contentBlockSchema.safeParse(item);
    if (!parsed.success) return `element ${index} is not an MCP content block with a "type"`;
    blocks.push(parsed.data);
  }
  return blocks;
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
