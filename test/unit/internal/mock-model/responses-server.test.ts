import { Agent, request as httpRequest } from "node:http";
import { gzipSync } from "node:zlib";

import { afterEach, describe, expect, it } from "vitest";

import type { MockScript } from "../../../../internal/mock-model/mock-reply.js";
import {
  closeEarly,
  execCommand,
  hang,
  message,
  rateLimited,
  rateLimitHeaders,
  reasoning,
  respond,
  responseFailed,
  textReply,
  unauthorized,
} from "../../../../internal/mock-model/reply-builders.js";
import type { ResponsesServer } from "../../../../internal/mock-model/responses-server.js";
import { startResponsesServer } from "../../../../internal/mock-model/responses-server.js";
import { parseSse } from "../../../helpers/parse-sse.js";

const servers: ResponsesServer[] = [];

async function start(script: MockScript): Promise<ResponsesServer> {
  const server = await startResponsesServer({ script });
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

function postResponses(
  server: ResponsesServer,
  body: unknown = { model: "gpt-test", input: [] },
  init: RequestInit = {},
): Promise<Response> {
  return fetch(`${server.url}/responses`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify(body),
    ...init,
  });
}

describe("startResponsesServer", () => {
  it("listens on 127.0.0.1 and reports a /v1 base url", async () => {
    const server = await start([]);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/v1`);
    expect(server.port).toBeGreaterThan(0);
  });

  it("streams a scripted reply as SSE ending in response.completed", async () => {
    const server = await start([
      respond([reasoning("thinking"), message("Hello from the mock, in deltas.")], {
        usage: { inputTokens: 42, cachedTokens: 2, outputTokens: 7, reasoningTokens: 1 },
      }),
    ]);
    const res = await postResponses(server);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const events = parseSse(await res.text());
    expect(events.map((event) => event.data["type"])).toEqual(events.map((event) => event.event));
    expect(events.map((event) => event.data["sequence_number"])).toEqual(
      events.map((_, index) => index),
    );
    expect(events[0]?.event).toBe("response.created");
    expect(events.at(-1)?.event).toBe("response.completed");
    const text = events
      .filter((event) => event.event === "response.output_text.delta")
      .map((event) => event.data["delta"])
      .join("");
    expect(text).toBe("Hello from the mock, in deltas.");
    expect(events.at(-1)?.data["response"]).toMatchObject({
      id: "resp_mock0",
      model: "gpt-test",
      usage: {
        input_tokens: 42,
        input_tokens_details: { cached_tokens: 2 },
        output_tokens: 7,
        output_tokens_details: { reasoning_tokens: 1 },
        total_tokens: 49,
      },
    });
  });

  it("sends a reply's scripted headers, e.g. codex's rate-limit headers", async () => {
    const headers = rateLimitHeaders({
      primary: { usedPercent: 12.5, windowMinutes: 300, resetsAt: 4102444800 },
      secondary: { usedPercent: 40 },
    });
    expect(headers).toEqual({
      "x-codex-primary-used-percent": "12.5",
      "x-codex-primary-window-minutes": "300",
      "x-codex-primary-reset-at": "4102444800",
      "x-codex-secondary-used-percent": "40",
    });
    const server = await start([textReply("ok", { headers: { ...headers, "content-type": "x" } })]);
    const res = await postResponses(server);
    expect(
      Object.fromEntries([...res.headers].filter(([name]) => name.startsWith("x-codex-"))),
    ).toEqual(headers);
    // The stream's own headers win.
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    await res.text();
  });

  it("records method, path, query, headers and the parsed body", async () => {
    const server = await start([textReply("ok")]);
    const body = { model: "m", input: [{ type: "message", role: "user", content: "hi" }] };
    await (
      await fetch(`${server.url}/responses?api-version=1`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-test": "yes" },
        body: JSON.stringify(body),
      })
    ).text();
    expect(server.requests).toHaveLength(1);
    const [recorded] = server.requests;
    expect(recorded).toMatchObject({
      seq: 0,
      method: "POST",
      path: "/v1/responses",
      query: "api-version=1",
      body,
      rawBody: JSON.stringify(body),
    });
    expect(recorded?.headers["x-test"]).toBe("yes");
    expect(typeof recorded?.receivedAt).toBe("number");
  });

  it("decodes gzip request bodies", async () => {
    const server = await start([textReply("ok")]);
    const body = { model: "m", input: [] };
    await (
      await fetch(`${server.url}/responses`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-encoding": "gzip" },
        body: gzipSync(JSON.stringify(body)),
      })
    ).text();
    expect(server.requests[0]?.body).toEqual(body);
  });

  it("keeps a non-JSON body as raw text only", async () => {
    const server = await start([textReply("ok")]);
    await (await fetch(`${server.url}/responses`, { method: "POST", body: "not json" })).text();
    expect(server.requests[0]?.body).toBeUndefined();
    expect(server.requests[0]?.rawBody).toBe("not json");
  });

  it("answers a list script in order and fails clearly once it runs out", async () => {
    const server = await start([textReply("one"), textReply("two")]);
    const texts: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const events = parseSse(await (await postResponses(server)).text());
      const done = events.find((event) => event.event === "response.output_text.done");
      texts.push(String(done?.data["text"]));
    }
    expect(texts).toEqual(["one", "two"]);

    const third = await postResponses(server);
    expect(third.status).toBe(400);
    expect(await third.json()).toMatchObject({
      error: {
        code: "mock_script_error",
        message:
          "mock script error on request #2: the script has 2 replies and no reply for request #2",
      },
    });
    expect(server.scriptErrors).toHaveLength(1);
  });

  it("passes the recorded request and the responses index to a script function", async () => {
    const seen: [number, number, unknown][] = [];
    const server = await start(async (request, index) => {
      seen.push([request.seq, index, request.body?.["model"]]);
      await Promise.resolve();
      return textReply(`reply ${index}`);
    });
    // A non-/responses request in between takes a seq but not a responses index.
    await (await fetch(`${server.url}/models`)).text();
    await (await postResponses(server, { model: "a" })).text();
    await (await postResponses(server, { model: "b" })).text();
    expect(seen).toEqual([
      [1, 0, "a"],
      [2, 1, "b"],
    ]);
  });

  it("turns a throwing script into an HTTP 400 naming the error", async () => {
    const server = await start(() => {
      throw new Error("no such turn");
    });
    const res = await postResponses(server);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("mock script error on request #0: no such turn");
    expect(server.scriptErrors).toEqual([new Error("no such turn")]);
  });

  it("sends HTTP errors with their status, headers and body", async () => {
    const server = await start([rateLimited(3), unauthorized()]);
    const limited = await postResponses(server);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("3");
    expect(await limited.json()).toMatchObject({ error: { code: "rate_limit_exceeded" } });
    const denied = await postResponses(server);
    expect(denied.status).toBe(401);
    expect(denied.headers.get("content-type")).toBe("application/json");
  });

  it("ends a close-early stream after the items, without response.completed", async () => {
    const server = await start([closeEarly([execCommand("true", { callId: "c" })])]);
    const events = parseSse(await (await postResponses(server)).text());
    expect(events.at(-1)?.event).toBe("response.output_item.done");
    expect(events.map((event) => event.event)).not.toContain("response.completed");
  });

  it("ends a failed stream with response.failed", async () => {
    const server = await start([responseFailed("server_error", "boom")]);
    const events = parseSse(await (await postResponses(server)).text());
    expect(events.at(-1)).toMatchObject({
      event: "response.failed",
      data: { response: { status: "failed", error: { code: "server_error", message: "boom" } } },
    });
  });

  it("waits delayMs before answering", async () => {
    const server = await start([textReply("late", { delayMs: 300 })]);
    const started = performance.now();
    await (await postResponses(server)).text();
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("answers GET /v1/models with an empty catalogue and other paths with a recorded 404", async () => {
    const server = await start([]);
    const models = await fetch(`${server.url}/models`);
    expect(await models.json()).toEqual({ models: [] });
    const missing = await fetch(`http://127.0.0.1:${server.port}/elsewhere`);
    expect(missing.status).toBe(404);
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /v1/models",
      "GET /elsewhere",
    ]);
  });

  it("resolves waitForResponsesRequests once enough requests arrived, and times out otherwise", async () => {
    const server = await start([textReply("a")]);
    const waiting = server.waitForResponsesRequests(1, 5_000);
    await (await postResponses(server)).text();
    expect(await waiting).toHaveLength(1);
    await expect(server.waitForResponsesRequests(2, 50)).rejects.toThrow(
      "1 of 2 POST /responses requests arrived within 50 ms",
    );
  });
});

describe("close()", () => {
  it("ends a request that hangs before headers and resolves promptly", async () => {
    const server = await start([hang()]);
    const pending = postResponses(server).then(
      () => "answered",
      () => "connection closed",
    );
    await server.waitForResponsesRequests(1, 5_000);
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await pending).toBe("connection closed");
  });

  it("ends a stream that went silent after response.created", async () => {
    const server = await start([hang({ afterHeaders: true })]);
    const res = await postResponses(server);
    expect(res.status).toBe(200);
    const reader = res.body?.getReader();
    const first = await reader?.read();
    expect(new TextDecoder().decode(first?.value)).toContain("event: response.created");
    await server.close();
    await expect(
      (async () => {
        for (;;) {
          const chunk = await reader?.read();
          if (chunk === undefined || chunk.done) {
            return "ended";
          }
        }
      })(),
    ).rejects.toThrow();
  });

  it("cancels a pending delayed reply and is idempotent", async () => {
    const server = await start([textReply("never", { delayMs: 60_000 })]);
    const pending = postResponses(server).then(
      () => "answered",
      () => "connection closed",
    );
    await server.waitForResponsesRequests(1, 5_000);
    await server.close();
    await server.close();
    expect(await pending).toBe("connection closed");
  });

  it("does not wait for idle keep-alive connections", async () => {
    const server = await start([textReply("a")]);
    // A keep-alive agent leaves an idle pooled socket behind, as codex's HTTP client does.
    const agent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${server.url}/responses`, { method: "POST", agent }, (res) => {
        res.resume();
        res.on("end", resolve);
      });
      req.on("error", reject);
      req.end("{}");
    });
    expect(agent.freeSockets).not.toEqual({});
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    agent.destroy();
  });
});
