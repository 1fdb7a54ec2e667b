// A local stand-in for the OpenAI Responses API: codex 0.169.0 (pointed at it by
// codex-provider-overrides.ts) sends POST <base>/responses, and a script decides every answer.
// Every request is recorded so tests can assert on exactly what codex sent.
import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { promisify } from "node:util";
import { brotliDecompress, gunzip, inflate } from "node:zlib";

import type { MockReply, MockScript } from "./mock-reply.js";
import type { JsonObject, RecordedRequest } from "./recorded-request.js";
import type { ResponseMeta, SseEvent } from "./sse.js";
import {
  completedStreamEvents,
  failedStreamEvents,
  formatSseEvent,
  incompleteStreamEvents,
  itemsEvents,
  openingEvents,
} from "./sse.js";

/** Options of startResponsesServer. */
export interface ResponsesServerOptions {
  readonly script: MockScript;
  /** Only loopback is supported: the mock must never be reachable from elsewhere. */
  readonly host?: "127.0.0.1";
  /** 0 (the default) picks a free port. */
  readonly port?: number;
}

/** A running mock server. */
export interface ResponsesServer {
  /** The provider base_url, including "/v1"; codex appends "/responses". */
  readonly url: string;
  readonly port: number;
  /** Every request received, any path, in arrival order. The array grows while the server runs. */
  readonly requests: RecordedRequest[];
  /** Errors thrown by the script; each was also answered with an HTTP 400 naming it. */
  readonly scriptErrors: unknown[];
  /**
   * When each response's first `response.output_text.delta` was written, in epoch milliseconds
   * with sub-millisecond precision (performance.timeOrigin + performance.now()), in send order.
   */
  readonly firstTextDeltaSentAt: number[];
  /** Resolves once `count` POST /responses requests have arrived (rejects after `timeoutMs`). */
  waitForResponsesRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /** Stops listening and destroys every open connection, hung ones included. Idempotent. */
  close(): Promise<void>;
}

const BASE_PATH = "/v1";
const RESPONSES_PATH = `${BASE_PATH}/responses`;
const MODELS_PATH = `${BASE_PATH}/models`;

const decompressors: Readonly<Record<string, (input: Buffer) => Promise<Buffer>>> = {
  gzip: promisify(gunzip),
  deflate: promisify(inflate),
  br: promisify(brotliDecompress),
};

/** Starts the mock on 127.0.0.1 (a free port unless `port` is given). */
export async function startResponsesServer(
  options: ResponsesServerOptions,
): Promise<ResponsesServer> {
  const host = options.host ?? "127.0.0.1";
  const requests: RecordedRequest[] = [];
  const scriptErrors: unknown[] = [];
  const firstTextDeltaSentAt: number[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const waiters = new Set<() => void>();
  let responsesCount = 0;
  let closed = false;

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      // Only reachable through a bug in this file; answer rather than leave codex hanging.
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "text/plain" });
      }
      res.end(`mock server error: ${String(error)}`);
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const recorded = await readRequest(req, requests.length);
    requests.push(recorded);
    for (const wake of [...waiters]) {
      wake();
    }
    if (recorded.method === "POST" && recorded.path === RESPONSES_PATH) {
      const index = responsesCount;
      responsesCount += 1;
      await answerResponses(recorded, index, res);
      return;
    }
    if (recorded.method === "GET" && recorded.path === MODELS_PATH) {
      // codex 0.169.0 was not seen calling this with a custom provider; an empty catalogue keeps
      // its built-in model metadata in charge if some configuration makes it ask.
      sendJson(res, 200, { models: [] });
      return;
    }
    sendJson(res, 404, {
      error: {
        message: `mock Responses server: no route for ${recorded.method} ${recorded.path}`,
        type: "invalid_request_error",
        code: "not_found",
        param: null,
      },
    });
  }

  async function answerResponses(
    request: RecordedRequest,
    index: number,
    res: ServerResponse,
  ): Promise<void> {
    let reply: MockReply;
    try {
      reply = await pickReply(options.script, request, index);
    } catch (error) {
      scriptErrors.push(error);
      // 400 because codex neither retries it nor hides its body: the turn fails at once and
      // turn.failed carries this text.
      sendJson(res, 400, {
        error: {
          message: `mock script error on request #${index}: ${describe(error)}`,
          type: "invalid_request_error",
          code: "mock_script_error",
          param: null,
        },
      });
      return;
    }
    const meta: ResponseMeta = {
      id: `resp_mock${index}`,
      model: typeof request.body?.["model"] === "string" ? request.body["model"] : "mock-model",
      createdAt: Math.floor(request.receivedAt / 1000),
    };
    switch (reply.kind) {
      case "response":
        if (reply.delayMs !== undefined && reply.delayMs > 0) {
          await sleep(reply.delayMs);
        }
        if (reply.deltaIntervalMs !== undefined && reply.deltaIntervalMs > 0) {
          await sendSlowStream(
            res,
            completedStreamEvents(meta, reply.items, reply.usage),
            reply.deltaIntervalMs,
            { wait: sleep, onFirstTextDelta: (at) => firstTextDeltaSentAt.push(at) },
            reply.headers,
          );
          return;
        }
        sendStream(res, completedStreamEvents(meta, reply.items, reply.usage), true, reply.headers);
        return;
      case "response-failed":
        sendStream(res, failedStreamEvents(meta, reply.code, reply.message), true);
        return;
      case "response-incomplete":
        sendStream(res, incompleteStreamEvents(meta, reply.reason), true);
        return;
      case "close-early":
        sendStream(res, [...openingEvents(meta), ...itemsEvents(meta, reply.items).events], true);
        return;
      case "hang":
        if (reply.afterHeaders) {
          sendStream(res, openingEvents(meta), false);
        }
        // Nothing more is ever written; close() destroys the socket.
        return;
      case "http-error":
        res.writeHead(reply.status, { ...reply.headers });
        res.end(reply.body);
        return;
    }
  }

  // Waits without keeping anything alive past close().
  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });
  }

  server.listen(options.port ?? 0, host);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${host}:${port}${BASE_PATH}`,
    port,
    requests,
    scriptErrors,
    firstTextDeltaSentAt,
    waitForResponsesRequests(count: number, timeoutMs = 30_000): Promise<RecordedRequest[]> {
      const matching = (): RecordedRequest[] =>
        requests.filter((r) => r.method === "POST" && r.path === RESPONSES_PATH);
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = matching();
          if (found.length >= count) {
            finish();
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(
            new Error(
              `mock Responses server: ${matching().length} of ${count} POST /responses requests arrived within ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
        const finish = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async close(): Promise<void> {
      if (closed) {
        return;
      }
      closed = true;
      for (const timer of timers) {
        clearTimeout(timer);
      }
      timers.clear();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // Hung replies and pooled keep-alive connections would otherwise hold close() open.
      server.closeAllConnections();
      for (const socket of sockets) {
        socket.destroy();
      }
      await stopped;
    },
  };
}

// A list script answers in order; running past its end is a test bug, reported like a throw.
async function pickReply(
  script: MockScript,
  request: RecordedRequest,
  index: number,
): Promise<MockReply> {
  if (typeof script === "function") {
    return await script(request, index);
  }
  const list: readonly MockReply[] = script;
  const reply = list[index];
  if (reply === undefined) {
    throw new Error(`the script has ${list.length} replies and no reply for request #${index}`);
  }
  return reply;
}

// Reads the whole body, undoes content-encoding and parses JSON objects.
async function readRequest(req: IncomingMessage, seq: number): Promise<RecordedRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    chunks.push(chunk as Buffer);
  }
  let raw: Buffer = Buffer.concat(chunks);
  const encoding = req.headers["content-encoding"]?.trim().toLowerCase();
  const decompress = encoding === undefined ? undefined : decompressors[encoding];
  if (decompress !== undefined) {
    raw = await decompress(raw);
  }
  const rawBody = raw.toString("utf8");
  const url = req.url ?? "/";
  const queryAt = url.indexOf("?");
  return {
    seq,
    method: req.method ?? "GET",
    path: queryAt === -1 ? url : url.slice(0, queryAt),
    query: queryAt === -1 ? "" : url.slice(queryAt + 1),
    headers: req.headers,
    body: parseJsonObject(rawBody),
    rawBody,
    receivedAt: Date.now(),
  };
}

function parseJsonObject(text: string): JsonObject | undefined {
  if (text === "") {
    return undefined;
  }
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as JsonObject)
      : undefined;
  } catch {
    return undefined;
  }
}

// Writes the SSE headers and events; `end` false leaves the stream open (a stalled model).
function sendStream(
  res: ServerResponse,
  events: readonly SseEvent[],
  end: boolean,
  headers: Readonly<Record<string, string>> = {},
): void {
  res.writeHead(200, {
    ...headers,
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
  });
  res.write(events.map((event, seq) => formatSseEvent(event, seq)).join(""));
  if (end) {
    res.end();
  }
}

// Writes the events one at a time, waiting `intervalMs` before each delta event; reports when the
// first text delta went out.
async function sendSlowStream(
  res: ServerResponse,
  events: readonly SseEvent[],
  intervalMs: number,
  hooks: { wait: (ms: number) => Promise<void>; onFirstTextDelta: (atMs: number) => void },
  headers: Readonly<Record<string, string>> = {},
): Promise<void> {
  res.writeHead(200, {
    ...headers,
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
  });
  let textSent = false;
  for (const [seq, event] of events.entries()) {
    if (res.destroyed) return;
    if (event.type.endsWith(".delta")) await hooks.wait(intervalMs);
    res.write(formatSseEvent(event, seq));
    if (!textSent && event.type === "response.output_text.delta") {
      textSent = true;
      hooks.onFirstTextDelta(performance.timeOrigin + performance.now());
    }
  }
  res.end();
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
