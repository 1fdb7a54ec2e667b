// The `mcp-host` bridge: an MCP stdio server (codex is the client) whose tools are the host tools
// of the agent's running turn. tools/list and tools/call are forwarded over the agent's unix socket
// to the plugin, which forwards calls to the host over gRPC. Stdout carries MCP messages only.
import type { Readable, Writable } from "node:stream";

// The low-level Server, not McpServer: the tools are not known at start-up and their schemas are
// JSON Schema from the host, not zod.
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import {
  CallToolRequestSchema,
  type CallToolResult,
  CallToolResultSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "pino";

import { PluginSocketClient } from "./socket-client.js";

export interface McpHostBridgeOptions {
  socketPath: string;
  agentId: string;
  /** codex's end of the MCP stdio transport. */
  stdin: Readable;
  stdout: Writable;
  logger: Logger;
  /** Reported as the MCP server version. */
  version: string;
  connectTimeoutMs?: number;
}

/** The name the bridge reports in its MCP initialize result. */
export const MCP_HOST_SERVER_NAME = "plexum-host";

/**
 * Serves MCP on stdin/stdout until stdin ends (codex stopped or closed the server) or stdout breaks,
 * then closes the socket connection. Resolves once everything is closed; never rejects for a
 * plugin that cannot be reached, which only makes the individual calls fail.
 */
export async function runMcpHostBridge(options: McpHostBridgeOptions): Promise<void> {
  const { logger } = options;
  const client = new PluginSocketClient({
    socketPath: options.socketPath,
    agentId: options.agentId,
    logger,
    ...(options.connectTimeoutMs === undefined
      ? {}
      : { connectTimeoutMs: options.connectTimeoutMs }),
  });
  const server = new Server(
    { name: MCP_HOST_SERVER_NAME, version: options.version },
    {
      capabilities: { tools: {} },
      instructions: "Tools provided by the Plexum host for this agent's current turn.",
    },
  );

  server.setRequestHandler(ListToolsRequestSchema, async () => {
    try {
      const tools = await client.listTools();
      return {
        tools: tools.map((tool) => ({
          name: tool.name,
          description: tool.description,
          inputSchema: tool.input_schema as { type: "object" },
        })),
      };
    } catch (error) {
      logger.warn({ error: (error as Error).message }, "tools/list failed");
      throw new McpError(ErrorCode.InternalError, (error as Error).message);
    }
  });

  server.setRequestHandler(CallToolRequestSchema, async (request): Promise<CallToolResult> => {
    const { name } = request.params;
    const meta = request.params._meta as Record<string, unknown> | undefined;
    const callId = typeof meta?.["callId"] === "string" ? meta["callId"] : undefined;
    const started = performance.now();
    try {
      const outcome = await client.callTool(name, request.params.arguments ?? {}, callId);
      const result = { content: outcome.content, isError: outcome.isError };
      // The SDK rejects a malformed result with a JSON-RPC error; an error result says more.
      const checked = CallToolResultSchema.safeParse(result);
      if (!checked.success) {
        return errorResult(
          `the host's result for tool "${name}" is not valid MCP content: ${checked.error.message}`,
        );
      }
      logger.debug(
        { tool: name, call_id: callId, is_error: outcome.isError, ms: elapsed(started) },
        "tools/call answered",
      );
      return checked.data;
    } catch (error) {
      logger.warn(
        { tool: name, call_id: callId, error: (error as Error).message },
        "tools/call failed",
      );
      return errorResult((error as Error).message);
    }
  });

  const transport = new StdioServerTransport(options.stdin, options.stdout);
  const finished = new Promise<string>((resolve) => {
    options.stdin.once("end", () => resolve("stdin ended"));
    options.stdin.once("close", () => resolve("stdin closed"));
    options.stdin.once("error", (error) => resolve(`stdin failed: ${error.message}`));
    options.stdout.once("error", (error) => resolve(`stdout failed: ${error.message}`));
    transport.onclose = () => resolve("transport closed");
  });
  server.onerror = (error) => logger.warn({ err: error }, "MCP protocol error");
  await server.connect(transport);
  logger.debug({ socket: options.socketPath }, "mcp-host serving");
  const reason = await finished;
  logger.debug({ reason }, "mcp-host stopping");
  client.close();
  await server.close().catch(() => undefined);
}

function errorResult(text: string): CallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
