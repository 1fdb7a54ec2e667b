// The JSON-RPC layer over in-memory streams (MCP's InMemoryTransport habit): ids and answers,
// lines split across chunks, timeouts, handler failures, and a closed input.
import { PassThrough } from "node:stream";

import { describe, expect, it } from "vitest";

import {
  AppServerError,
  JsonRpcReplyError,
} from "../../../../internal/app-server/app-server-error.js";
import {
  JsonRpcConnection,
  type ProtocolProblem,
} from "../../../../internal/app-server/json-rpc-connection.js";

function setup(onRequest: (method: string, params: unknown) => unknown = () => null) {
  const fromServer = new PassThrough();
  const toServer = new PassThrough();
  const sent: Record<string, unknown>[] = [];
  toServer.on("data", (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) {
      sent.push(JSON.parse(line) as Record<string, unknown>);
    }
  });
  const notifications: [string, unknown][] = [];
  const problems: ProtocolProblem[] = [];
  const connection = new JsonRpcConnection({
    input: fromServer,
    output: toServer,
    onNotification: (method, params) => notifications.push([method, params]),
    onRequest,
    onProblem: (problem) => problems.push(problem),
  });
  const reply = (message: object) => fromServer.write(`${JSON.stringify(message)}\n`);
  return { connection, fromServer, sent, notifications, problems, reply };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("JsonRpcConnection", () => {
  it("matches answers to calls by id, in any order, across chunk boundaries", async () => {
    const { connection, fromServer, sent } = setup();
    const first = connection.request("a", { n: 1 });
    const second = connection.request("b", { n: 2 });
    await tick();
    expect(sent).toEqual([
      { jsonrpc: "2.0", id: 1, method: "a", params: { n: 1 } },
      { jsonrpc: "2.0", id: 2, method: "b", params: { n: 2 } },
    ]);
    const text = `${JSON.stringify({ id: 2, result: "two" })}\n${JSON.stringify({ id: 1, result: "one" })}\n`;
    fromServer.write(text.slice(0, 7));
    fromServer.write(text.slice(7));
    expect(await Promise.all([first, second])).toEqual(["one", "two"]);
    expect(connection.pendingCount).toBe(0);
  });

  it("turns an error answer into RPC_ERROR with the code and data", async () => {
    const { connection, reply } = setup();
    const call = connection.request("thread/resume", {});
    reply({ id: 1, error: { code: -32600, message: "no rollout found", data: { x: 1 } } });
    await expect(call).rejects.toMatchObject({
      code: "RPC_ERROR",
      rpcCode: -32600,
      data: { x: 1 },
      message: "thread/resume: no rollout found",
    });
  });

  it("passes notifications on in order, and reports what it cannot use", async () => {
    const { notifications, problems, fromServer, reply } = setup();
    reply({ method: "one", params: { a: 1 } });
    fromServer.write("{broken\n\n");
    reply({ id: 42, result: {} });
    reply({ method: "two" });
    await tick();
    expect(notifications).toEqual([
      ["one", { a: 1 }],
      ["two", undefined],
    ]);
    expect(problems.map((problem) => problem.kind)).toEqual(["not_json", "unknown_response"]);
  });

  it("answers server requests: a result, a chosen error, an internal error", async () => {
    const { sent, reply } = setup((method) => {
      if (method === "ok") return { fine: true };
      if (method === "refuse") throw new JsonRpcReplyError(-32601, "not here");
      throw new Error("handler bug");
    });
    reply({ id: "x", method: "ok" });
    reply({ id: 5, method: "refuse" });
    reply({ id: 6, method: "boom" });
    await tick();
    await tick();
    expect(sent).toHaveLength(3);
    expect(sent).toEqual(
      expect.arrayContaining([
        { jsonrpc: "2.0", id: "x", result: { fine: true } },
        { jsonrpc: "2.0", id: 5, error: { code: -32601, message: "not here" } },
        { jsonrpc: "2.0", id: 6, error: { code: -32603, message: "handler bug" } },
      ]),
    );
  });

  it("times a call out, and rejects every pending and later call when the input ends", async () => {
    const { connection, fromServer } = setup();
    await expect(connection.request("slow", {}, { timeoutMs: 20 })).rejects.toMatchObject({
      code: "TIMEOUT",
    });
    const pending = connection.request("never", {});
    fromServer.end();
    await expect(pending).rejects.toBeInstanceOf(AppServerError);
    await expect(pending).rejects.toMatchObject({ code: "SERVER_EXITED" });
    await expect(connection.request("later", {})).rejects.toMatchObject({ code: "SERVER_EXITED" });
  });

  it("rejects on abort, before and during the call", async () => {
    const { connection } = setup();
    const controller = new AbortController();
    const during = connection.request("x", {}, { signal: controller.signal });
    controller.abort(new Error("stop"));
    await expect(during).rejects.toMatchObject({ code: "ABORTED" });
    await expect(connection.request("y", {}, { signal: controller.signal })).rejects.toMatchObject({
      code: "ABORTED",
    });
    expect(connection.pendingCount).toBe(0);
  });
});
