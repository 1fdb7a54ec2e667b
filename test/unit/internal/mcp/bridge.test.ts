// The mcp-host bridge with fake stdio streams (an MCP SDK client on the other end) and a real
// listener on a temp socket: the whole codex → bridge → plugin → host path minus the processes.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterEach, describe, expect, it } from "vitest";

import { runMcpHostBridge } from "../../../../internal/mcp/bridge.js";
import {
  type HostToolCall,
  HostToolListener,
  type HostToolListenerOptions,
} from "../../../../internal/mcp/host-tool-listener.js";
import { silentLogger } from "../../../helpers/fake-codex.js";
import {
  type BridgeStreams,
  connectMcpClient,
  createBridgeStreams,
} from "../../../helpers/mcp-stream-client.js";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const TOOLS = [
  {
    name: "lookup",
    description: "Looks things up",
    inputSchema: { type: "object", properties: { q: { type: "string" } } },
  },
];

async function tempSocketPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "plexum-bridge-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return join(dir, "mcp", "a.sock");
}

async function startListener(
  socketPath: string,
  overrides: Partial<HostToolListenerOptions> = {},
): Promise<{ listener: HostToolListener; calls: HostToolCall[] }> {
  const calls: HostToolCall[] = [];
  const listener = await HostToolListener.listen({
    socketPath,
    agentId: "agent-a",
    tools: TOOLS,
    hostTimeoutMs: 5000,
    logger: silentLogger,
    onCall: (call) => calls.push(call),
    ...overrides,
  });
  cleanups.push(() => listener.close("test over"));
  return { listener, calls };
}

async function startBridge(
  socketPath: string,
  agentId = "agent-a",
): Promise<{ client: Client; streams: BridgeStreams; done: Promise<void> }> {
  const streams = createBridgeStreams();
  const done = runMcpHostBridge({
    socketPath,
    agentId,
    stdin: streams.stdin,
    stdout: streams.stdout,
    logger: silentLogger,
    version: "0.0.0-test",
  });
  const client = await connectMcpClient(streams);
  cleanups.push(async () => {
    streams.stdin.end();
    await done;
  });
  return { client, streams, done };
}

function text(result: unknown): string {
  const content = (result as { content: { text?: string }[] }).content;
  return content.map((block) => block.text ?? "").join("\n");
}

// Answers every call the listener forwards with `answer(call)`.
function autoAnswer(
  listener: HostToolListener,
  calls: HostToolCall[],
  answer: (call: HostToolCall) => { text: string; isError?: boolean; contentJson?: string },
): void {
  const timer = setInterval(() => {
    for (const call of calls.splice(0)) {
      const result = answer(call);
      listener.answer(call.requestId, {
        text: result.text,
        isError: result.isError ?? false,
        contentJson: result.contentJson ?? "",
      });
    }
  }, 5);
  cleanups.push(async () => clearInterval(timer));
}

describe("runMcpHostBridge", () => {
  it("serves the turn's tools and forwards calls with codex's call id", async () => {
    const socketPath = await tempSocketPath();
    const { listener, calls } = await startListener(socketPath);
    const seen: HostToolCall[] = [];
    autoAnswer(listener, calls, (call) => {
      seen.push(call);
      return { text: `answer to ${call.argumentsJson}` };
    });
    const { client } = await startBridge(socketPath);

    expect(client.getServerVersion()).toMatchObject({ name: "plexum-host" });
    expect((await client.listTools()).tools).toEqual([
      {
        name: "lookup",
        description: "Looks things up",
        inputSchema: { type: "object", properties: { q: { type: "string" } } },
      },
    ]);
    const result = await client.callTool({
      name: "lookup",
      arguments: { q: "x" },
      _meta: { callId: "call_abc" },
    });
    expect(result).toEqual({
      content: [{ type: "text", text: 'answer to {"q":"x"}' }],
      isError: false,
    });
    expect(seen).toMatchObject([{ callId: "call_abc", toolName: "lookup" }]);
  });

  it("returns the host's error as an isError result with its text", async () => {
    const socketPath = await tempSocketPath();
    const { listener, calls } = await startListener(socketPath);
    autoAnswer(listener, calls, () => ({ text: "backend exploded", isError: true }));
    const { client } = await startBridge(socketPath);
    const result = await client.callTool({ name: "lookup", arguments: {} });
    expect(result.isError).toBe(true);
    expect(text(result)).toBe("backend exploded");
  });

  it("turns a host result that is not valid MCP content into an error result", async () => {
    const socketPath = await tempSocketPath();
    const { listener, calls } = await startListener(socketPath);
    autoAnswer(listener, calls, () => ({ text: "", contentJson: '[{"type":"image"}]' }));
    const { client } = await startBridge(socketPath);
    const result = await client.callTool({ name: "lookup", arguments: {} });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain('the host\'s result for tool "lookup" is not valid MCP content');
  });

  it("reports a host timeout", async () => {
    const socketPath = await tempSocketPath();
    await startListener(socketPath, { hostTimeoutMs: 100 });
    const { client } = await startBridge(socketPath);
    const result = await client.callTool({ name: "lookup", arguments: {} });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain('host tool "lookup" timed out');
  });

  it("fails fast and clearly when no turn is running", async () => {
    const socketPath = await tempSocketPath();
    const { client } = await startBridge(socketPath);
    const started = performance.now();
    const result = await client.callTool({ name: "lookup", arguments: {} });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(result.isError).toBe(true);
    expect(text(result)).toBe(
      `host tools are unavailable: no turn of agent "agent-a" is running (the Plexum provider ` +
        `plugin's socket ${socketPath} does not exist)`,
    );
    await expect(client.listTools()).rejects.toThrow(/no turn of agent "agent-a" is running/);
  });

  it("is refused by a socket serving another agent", async () => {
    const socketPath = await tempSocketPath();
    const { calls } = await startListener(socketPath);
    const { client } = await startBridge(socketPath, "agent-b");
    const result = await client.callTool({ name: "lookup", arguments: {} });
    expect(result.isError).toBe(true);
    expect(text(result)).toBe(
      'the Plexum provider plugin refused this bridge (AGENT_MISMATCH): this socket serves agent "agent-a", not "agent-b"',
    );
    expect(calls).toEqual([]);
  });

  it("answers a call pending when the turn is cancelled, then exits when stdin closes", async () => {
    const socketPath = await tempSocketPath();
    const { listener, calls } = await startListener(socketPath);
    const { client, streams, done } = await startBridge(socketPath);
    const pending = client.callTool({ name: "lookup", arguments: {} });
    while (calls.length === 0) await sleep(5);
    await listener.close("the turn was cancelled: by the host");
    const result = await pending;
    expect(result.isError).toBe(true);
    expect(text(result)).toBe(
      'host tool "lookup" got no result; the turn was cancelled: by the host. Do not retry it in this turn.',
    );
    // Calls after the turn fail fast instead of hanging.
    const after = await client.callTool({ name: "lookup", arguments: {} });
    expect(text(after)).toMatch(/no turn of agent "agent-a" is running/);

    streams.stdin.end();
    await expect(done).resolves.toBeUndefined();
  });

  it("reconnects to the same path for the agent's next turn", async () => {
    const socketPath = await tempSocketPath();
    const first = await startListener(socketPath);
    autoAnswer(first.listener, first.calls, () => ({ text: "turn 1" }));
    const { client } = await startBridge(socketPath);
    expect(text(await client.callTool({ name: "lookup", arguments: {} }))).toBe("turn 1");
    await first.listener.close("the turn ended");

    const second = await startListener(socketPath);
    autoAnswer(second.listener, second.calls, () => ({ text: "turn 2" }));
    expect(text(await client.callTool({ name: "lookup", arguments: {} }))).toBe("turn 2");
  });

  it("writes nothing but MCP JSON-RPC lines to stdout", async () => {
    const socketPath = await tempSocketPath();
    const { client, streams } = await startBridge(socketPath);
    const lines: string[] = [];
    streams.stdout.on("data", (chunk: Buffer) => lines.push(...chunk.toString("utf8").split("\n")));
    await client.callTool({ name: "lookup", arguments: {} });
    await client.listTools().catch(() => undefined);
    for (const line of lines.filter((l) => l !== "")) {
      expect(JSON.parse(line)).toMatchObject({ jsonrpc: "2.0" });
    }
    expect(lines.filter((l) => l !== "").length).toBeGreaterThanOrEqual(2);
  });
});
