// The plugin's per-turn socket listener, driven by raw socket clients speaking the framed protocol.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { createConnection, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { afterEach, describe, expect, it } from "vitest";

import { encodeFrame, FrameDecoder, MAX_FRAME_BYTES } from "../../../../internal/mcp/frame.js";
import {
  type HostToolCall,
  HostToolListener,
  type HostToolListenerOptions,
} from "../../../../internal/mcp/host-tool-listener.js";
import { silentLogger } from "../../../helpers/fake-codex.js";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function socketPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "plexum-listener-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return join(dir, "mcp", "agent.sock");
}

async function listen(
  overrides: Partial<HostToolListenerOptions> = {},
): Promise<{ listener: HostToolListener; calls: HostToolCall[]; path: string }> {
  const path = overrides.socketPath ?? (await socketPath());
  const calls: HostToolCall[] = [];
  const listener = await HostToolListener.listen({
    socketPath: path,
    agentId: "agent-a",
    tools: [{ name: "lookup", description: "Looks up", inputSchema: { type: "object" } }],
    hostTimeoutMs: 5000,
    logger: silentLogger,
    onCall: (call) => calls.push(call),
    ...overrides,
  });
  cleanups.push(() => listener.close("test over"));
  return { listener, calls, path };
}

/** A raw protocol client: send frames, await the next frame or the close. */
class RawClient {
  readonly socket: Socket;
  readonly #decoder = new FrameDecoder();
  readonly #frames: Record<string, unknown>[] = [];
  #waiters: (() => void)[] = [];
  closed = false;

  constructor(path: string) {
    this.socket = createConnection(path);
    this.socket.on("data", (chunk: Buffer) => {
      this.#frames.push(...this.#decoder.push(chunk));
      this.#wake();
    });
    this.socket.on("error", () => undefined);
    this.socket.on("close", () => {
      this.closed = true;
      this.#wake();
    });
    cleanups.push(async () => this.socket.destroy());
  }

  send(message: object): void {
    this.socket.write(encodeFrame(message));
  }

  async next(timeoutMs = 2000): Promise<Record<string, unknown> | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.#frames.length === 0 && !this.closed && Date.now() < deadline) {
      await Promise.race([new Promise<void>((r) => this.#waiters.push(r)), sleep(50)]);
    }
    return this.#frames.shift();
  }

  async waitClosed(timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await sleep(20);
    return this.closed;
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }
}

async function greeted(path: string, agentId = "agent-a"): Promise<RawClient> {
  const client = new RawClient(path);
  client.send({ type: "hello", protocol: 1, agent_id: agentId });
  expect(await client.next()).toEqual({ type: "welcome", protocol: 1 });
  return client;
}

describe("HostToolListener", () => {
  it("listens on a 0600 socket only until closed", async () => {
    const { listener, path } = await listen();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await listener.close("done");
    expect(existsSync(path)).toBe(false);
  });

  it("lists tools and forwards calls with codex's call id; the host's answer goes back", async () => {
    const { listener, calls, path } = await listen();
    const client = await greeted(path);
    client.send({ type: "list_tools", id: 1 });
    expect(await client.next()).toEqual({
      type: "tools",
      id: 1,
      tools: [{ name: "lookup", description: "Looks up", input_schema: { type: "object" } }],
    });
    client.send({
      type: "call_tool",
      id: 2,
      name: "lookup",
      arguments: { q: 1 },
      call_id: "call_x",
    });
    await sleep(50);
    expect(calls).toEqual([
      {
        requestId: expect.any(String),
        callId: "call_x",
        toolName: "lookup",
        argumentsJson: '{"q":1}',
      },
    ]);
    expect(listener.pendingCalls).toBe(1);
    expect(
      listener.answer(calls[0]!.requestId, { text: "found", isError: false, contentJson: "" }),
    ).toBe("answered");
    expect(await client.next()).toEqual({
      type: "tool_result",
      id: 2,
      content: [{ type: "text", text: "found" }],
      is_error: false,
    });
    // A second answer for the same call finds nothing.
    expect(
      listener.answer(calls[0]!.requestId, { text: "again", isError: false, contentJson: "" }),
    ).toBe("unknown_request");
  });

  it("passes MCP content through and turns bad content_json into an error result", async () => {
    const { listener, calls, path } = await listen();
    const client = await greeted(path);
    client.send({ type: "call_tool", id: 1, name: "lookup", arguments: {} });
    client.send({ type: "call_tool", id: 2, name: "lookup", arguments: {} });
    await sleep(50);
    const image = { type: "image", data: "aGk=", mimeType: "image/png" };
    listener.answer(calls[0]!.requestId, {
      text: "ignored",
      isError: false,
      contentJson: JSON.stringify([image]),
    });
    listener.answer(calls[1]!.requestId, { text: "", isError: false, contentJson: '{"no":1}' });
    expect(await client.next()).toEqual({
      type: "tool_result",
      id: 1,
      content: [image],
      is_error: false,
    });
    expect(await client.next()).toMatchObject({
      id: 2,
      is_error: true,
      content: [{ text: expect.stringContaining("content_json must be a JSON array") }],
    });
  });

  it("answers a result the bridge cannot carry with an error result, and keeps serving", async () => {
    const { listener, calls, path } = await listen();
    const client = await greeted(path);
    for (const id of [1, 2, 3])
      client.send({ type: "call_tool", id, name: "lookup", arguments: {} });
    await sleep(50);
    const [huge, deep, fine] = calls;
    // Over the 16 MiB frame, and nested far past what JSON.stringify can recurse into.
    const answered = [
      listener.answer(huge!.requestId, {
        text: "x".repeat(MAX_FRAME_BYTES),
        isError: false,
        contentJson: "",
      }),
      listener.answer(deep!.requestId, {
        text: "",
        isError: false,
        contentJson: `[{"type":"text","text":"t","x":${"[".repeat(200_000)}${"]".repeat(200_000)}}]`,
      }),
      listener.answer(fine!.requestId, { text: "fine", isError: false, contentJson: "" }),
    ];
    expect(answered).toEqual(["answered", "answered", "answered"]);
    expect(await client.next()).toMatchObject({
      id: 1,
      is_error: true,
      content: [{ text: expect.stringMatching(/cannot be passed on: frame of \d+ bytes exceeds/) }],
    });
    expect(await client.next()).toMatchObject({
      id: 2,
      is_error: true,
      content: [{ text: expect.stringContaining("content_json nests deeper than 64 levels") }],
    });
    expect(await client.next()).toMatchObject({ id: 3, content: [{ text: "fine" }] });
  });

  it("answers an unknown tool without asking the host", async () => {
    const { calls, path } = await listen();
    const client = await greeted(path);
    client.send({ type: "call_tool", id: 5, name: "nope", arguments: {} });
    expect(await client.next()).toMatchObject({
      id: 5,
      is_error: true,
      content: [{ text: 'unknown host tool "nope"; this turn offers: lookup' }],
    });
    expect(calls).toEqual([]);
  });

  it("times out a call the host never answers", async () => {
    const { listener, path } = await listen({ hostTimeoutMs: 150 });
    const client = await greeted(path);
    const started = Date.now();
    client.send({ type: "call_tool", id: 1, name: "lookup", arguments: {} });
    const result = await client.next();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(result).toMatchObject({
      is_error: true,
      content: [
        {
          text: 'host tool "lookup" timed out: the host did not answer within 0.2 s (mcp_host.host_timeout_seconds)',
        },
      ],
    });
    expect(listener.pendingCalls).toBe(0);
  });

  it("refuses another agent's hello and closes that connection", async () => {
    const { path } = await listen();
    const client = new RawClient(path);
    client.send({ type: "hello", protocol: 1, agent_id: "agent-b" });
    expect(await client.next()).toEqual({
      type: "refused",
      code: "AGENT_MISMATCH",
      message: 'this socket serves agent "agent-a", not "agent-b"',
    });
    expect(await client.waitClosed()).toBe(true);
  });

  it.each([
    ["garbage bytes", (c: RawClient) => c.socket.write("{{{{garbage}}}}"), "MALFORMED_FRAME"],
    [
      "a request before hello",
      (c: RawClient) => c.send({ type: "list_tools", id: 1 }),
      "MALFORMED_FRAME",
    ],
    ["an unknown message", (c: RawClient) => c.send({ type: "steal", id: 1 }), "MALFORMED_FRAME"],
    [
      "an extra field",
      (c: RawClient) => c.send({ type: "hello", protocol: 1, agent_id: "agent-a", x: 1 }),
      "MALFORMED_FRAME",
    ],
    [
      "another protocol version",
      (c: RawClient) => c.send({ type: "hello", protocol: 2, agent_id: "agent-a" }),
      "PROTOCOL_VERSION",
    ],
  ])("rejects %s, while other connections keep working", async (_name, misbehave, code) => {
    const { listener, calls, path } = await listen();
    const good = await greeted(path);
    const bad = new RawClient(path);
    misbehave(bad);
    expect(await bad.next()).toMatchObject({ type: "refused", code });
    expect(await bad.waitClosed()).toBe(true);

    good.send({ type: "call_tool", id: 9, name: "lookup", arguments: {} });
    await sleep(50);
    listener.answer(calls[0]!.requestId, { text: "still fine", isError: false, contentJson: "" });
    expect(await good.next()).toMatchObject({ id: 9, is_error: false });
  });

  it("drops a connection that never says hello", async () => {
    const { path } = await listen({ helloTimeoutMs: 100 });
    const client = new RawClient(path);
    expect(await client.next()).toMatchObject({ type: "refused", code: "HELLO_TIMEOUT" });
    expect(await client.waitClosed()).toBe(true);
  });

  it("answers pending calls with the close reason, then closes the connection", async () => {
    const { listener, path } = await listen();
    const client = await greeted(path);
    client.send({ type: "call_tool", id: 3, name: "lookup", arguments: {} });
    await sleep(50);
    await listener.close("the turn was cancelled: stop");
    expect(await client.next()).toEqual({
      type: "tool_result",
      id: 3,
      content: [
        {
          type: "text",
          text: 'host tool "lookup" got no result; the turn was cancelled: stop. Do not retry it in this turn.',
        },
      ],
      is_error: true,
    });
    expect(await client.waitClosed()).toBe(true);
  });

  it("replaces a stale socket left by a dead process", async () => {
    const path = await socketPath();
    await listen({ socketPath: path }).then(({ listener }) => listener.close("first turn"));
    // A socket file nobody listens on: bind in a child and SIGKILL it.
    const child = spawn(
      process.execPath,
      ["-e", `require("node:net").createServer().listen(${JSON.stringify(path)})`],
      { stdio: "ignore" },
    );
    for (let i = 0; i < 100 && !existsSync(path); i++) await sleep(20);
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    expect(existsSync(path)).toBe(true);
    const { path: again } = await listen({ socketPath: path });
    await greeted(again);
  });

  it("refuses a path where another listener is alive, or where a file is in the way", async () => {
    const { path } = await listen();
    await expect(listen({ socketPath: path })).rejects.toMatchObject({
      code: "MCP_SOCKET_UNAVAILABLE",
      message: expect.stringContaining("another process already listens"),
    });
    const file = await socketPath();
    await listen({ socketPath: file }).then(({ listener }) => listener.close("x"));
    await writeFile(file, "not a socket");
    await expect(listen({ socketPath: file })).rejects.toThrow(/exists and is not a socket/);
  });
});
