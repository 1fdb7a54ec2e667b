// The app-server client against a tiny fake server (test/fixtures/bin/fake-app-server.mjs): the
// handshake, typed calls, server requests answered, garbage reported, a crash mid-request, a clean
// close and the escalation when the server ignores EOF and SIGINT, and the compaction sequence.
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";

import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import {
  AppServerClient,
  type AppServerClientOptions,
} from "../../../../internal/app-server/app-server-client.js";
import { AppServerError } from "../../../../internal/app-server/app-server-error.js";
import type { ProtocolProblem } from "../../../../internal/app-server/json-rpc-connection.js";
import type { ServerNotificationMessage } from "../../../../internal/app-server/protocol-methods.js";
import {
  CompactionTurnError,
  compactThreadOn,
} from "../../../../internal/app-server/thread-compaction.js";
import { ProcessRegistry } from "../../../../internal/proc/process-registry.js";
import { ProcessScanner } from "../../../../internal/proc/process-scanner.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

const FAKE = resolve("test/fixtures/bin/fake-app-server.mjs");
const THREAD = "01a23c97-e873-7082-9653-3c4bf8b52dd5";

describe("AppServerClient", () => {
  const temp = createTempDirs();
  const processes = new ProcessRegistry();
  const scanner = new ProcessScanner();
  let dir: string;
  let clients: AppServerClient[] = [];

  beforeEach(async () => {
    dir = await temp.make("app-server");
  });
  afterEach(async () => {
    await Promise.all(clients.map((client) => client.close("test over")));
    clients = [];
    await processes.killAll();
    await temp.removeAll();
  });

  function options(mode: string, extra: Partial<AppServerClientOptions> = {}) {
    return {
      codexPath: FAKE,
      configOverrides: ['model="m"'],
      cwd: dir,
      env: {
        PATH: process.env["PATH"] ?? "",
        FAKE_APP_SERVER_MODE: mode,
        FAKE_APP_SERVER_LOG: join(dir, "received.jsonl"),
      },
      interruptGraceMs: 300,
      terminateGraceMs: 300,
      processes,
      scanner,
      logger: pino({ level: "silent" }),
      clientInfo: { name: "plexum_test", version: "1" },
      ...extra,
    } satisfies AppServerClientOptions;
  }

  async function start(mode: string, extra: Partial<AppServerClientOptions> = {}) {
    const client = await AppServerClient.start(options(mode, extra));
    clients.push(client);
    return client;
  }

  async function received(): Promise<Record<string, unknown>[]> {
    const text = await readFile(join(dir, "received.jsonl"), "utf8");
    return text
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  it("says initialize then initialized, and types a call's result", async () => {
    const client = await start("");
    const resumed = await client.request("thread/resume", { threadId: THREAD });
    expect(resumed.thread.id).toBe(THREAD);
    const sent = await received();
    expect(sent.map((message) => message["method"])).toEqual([
      "initialize",
      "initialized",
      "thread/resume",
    ]);
    expect(sent[0]).toMatchObject({
      jsonrpc: "2.0",
      id: 1,
      params: { clientInfo: { name: "plexum_test", version: "1" }, capabilities: null },
    });
    expect(sent[1]).not.toHaveProperty("id");
  });

  it("answers server requests: approvals declined, unknown methods with a JSON-RPC error", async () => {
    const client = await start("server-requests");
    const answers = await new Promise<unknown>((done) => {
      client.onNotification((message: ServerNotificationMessage) => {
        if ((message.method as string) === "test/answers") done(message.params);
      });
    });
    // Each answer is sent when its handler settles, so the two may arrive in either order.
    const { answers: got } = answers as { answers: unknown[] };
    expect(got).toHaveLength(2);
    expect(got).toEqual(
      expect.arrayContaining([
        { jsonrpc: "2.0", id: "srv-1", result: { decision: "decline" } },
        {
          jsonrpc: "2.0",
          id: 7,
          error: { code: -32601, message: expect.stringContaining("weird/method") },
        },
      ]),
    );
  });

  it("reports unusable lines and keeps working", async () => {
    const problems: ProtocolProblem[] = [];
    const client = await start("garbage", {
      maxMessageBytes: 64 * 1024,
      onProblem: (problem) => problems.push(problem),
    });
    expect(problems.map((problem) => [problem.kind, problem.lineNumber])).toEqual([
      ["not_json", 1],
      ["not_a_message", 2],
      ["oversize", 3],
      ["unknown_response", 4],
    ]);
    expect(problems[0]?.sample).toBe("this is not json");
    const resumed = await client.request("thread/resume", { threadId: THREAD });
    expect(resumed.thread.id).toBe(THREAD);
  });

  it("rejects a pending call with SERVER_EXITED when the server crashes mid-request", async () => {
    const client = await start("crash-on-resume");
    const error = await client
      .request("thread/resume", { threadId: THREAD })
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(AppServerError);
    expect(error).toMatchObject({ code: "SERVER_EXITED" });
    expect((error as Error).message).toContain("exit code 3");
    expect((error as Error).message).toContain("the fake crashed on purpose");
    // And every later call.
    await expect(client.request("thread/resume", { threadId: THREAD })).rejects.toMatchObject({
      code: "SERVER_EXITED",
    });
    expect((await client.exited).exitCode).toBe(3);
  });

  it("fails start with TIMEOUT when initialize is never answered, leaving no process", async () => {
    const error = await AppServerClient.start(options("hang", { initializeTimeoutMs: 300 })).catch(
      (thrown: unknown) => thrown,
    );
    expect(error).toMatchObject({ code: "TIMEOUT" });
    expect(processes.size).toBe(0);
  });

  it("fails start with SPAWN_FAILED for a missing executable", async () => {
    const error = await AppServerClient.start({
      ...options(""),
      codexPath: join(dir, "no-such-codex"),
    }).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: "SPAWN_FAILED" });
  });

  it("rejects an aborted call with ABORTED", async () => {
    const client = await start("");
    const controller = new AbortController();
    controller.abort(new Error("host went away"));
    await expect(
      client.request("thread/resume", { threadId: THREAD }, { signal: controller.signal }),
    ).rejects.toMatchObject({
      code: "ABORTED",
      message: expect.stringContaining("host went away"),
    });
  });

  it("closes cleanly on EOF, and escalates past a server that ignores EOF and SIGINT", async () => {
    const clean = await start("");
    const result = await clean.close("done");
    expect(result).toMatchObject({ exitCode: 0, termination: "none" });
    await expect(clean.request("thread/resume", { threadId: THREAD })).rejects.toMatchObject({
      code: "CLOSED",
    });

    const stubborn = await start("ignore-eof", { closeGraceMs: 100 });
    const stopped = await stubborn.close("done");
    expect(stopped.termination).toBe("terminate");
    expect(stopped.signal).toBe("SIGTERM");
    expect(processes.size).toBe(0);
  });

  it("compacts a thread: before and after figures, the compaction's usage", async () => {
    const client = await start("");
    const result = await compactThreadOn(client, {
      threadId: THREAD,
      model: "m",
      signal: new AbortController().signal,
    });
    expect(result).toMatchObject({
      threadId: THREAD,
      tokensBefore: 1050,
      tokensAfter: 321,
      modelContextWindow: 258400,
      usage: {
        input_tokens: 1200,
        output_tokens: 30,
        cached_input_tokens: 0,
        cache_write_input_tokens: 0,
        reasoning_output_tokens: 0,
      },
    });
    const resume = (await received()).find((message) => message["method"] === "thread/resume");
    expect(resume?.["params"]).toEqual({ threadId: THREAD, model: "m", excludeTurns: true });
  });

  it("reports a compaction turn that did not compact, with codex's message", async () => {
    const client = await start("compact-fails");
    const error = await compactThreadOn(client, {
      threadId: THREAD,
      signal: new AbortController().signal,
    }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(CompactionTurnError);
    expect((error as Error).message).toContain("model said no");
  });

  it("ends a compaction when the server dies, and when the caller aborts", async () => {
    const crashing = await start("crash-on-resume");
    await expect(
      compactThreadOn(crashing, { threadId: THREAD, signal: new AbortController().signal }),
    ).rejects.toMatchObject({ code: "SERVER_EXITED" });

    const client = await start("");
    const controller = new AbortController();
    controller.abort(new Error("shutdown"));
    await expect(
      compactThreadOn(client, { threadId: THREAD, signal: controller.signal }),
    ).rejects.toMatchObject({ code: "ABORTED" });
  });
});
