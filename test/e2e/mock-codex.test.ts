// The real codex (CODEX_BIN, else the pinned one) against the mock Responses server: proves the
// mock speaks the wire format codex accepts and that the recorded requests show what codex really
// sends.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { DEMO_PROMPTS, demoScript } from "../../internal/mock-model/demo-script.js";
import type { MockScript } from "../../internal/mock-model/mock-reply.js";
import type { RecordedRequest } from "../../internal/mock-model/recorded-request.js";
import { execCommand, respond, textReply } from "../../internal/mock-model/reply-builders.js";
import {
  commandOutputText,
  inputItems,
  lastUserPrompt,
  messageTexts,
  toolOutputFor,
  userPrompts,
} from "../../internal/mock-model/request-input.js";
import type { ResponsesServer } from "../../internal/mock-model/responses-server.js";
import { startResponsesServer } from "../../internal/mock-model/responses-server.js";
import { findCodexBinary } from "../helpers/codex-bin.js";
import type { CodexExecRun } from "../helpers/run-codex-exec.js";
import { runCodexExec } from "../helpers/run-codex-exec.js";
import { createTempDirs } from "../helpers/temp-dirs.js";

const codex = findCodexBinary();
const suiteName = codex.found
  ? "real codex exec against the mock Responses server"
  : `real codex exec against the mock Responses server (SKIPPED: codex binary not found: ${codex.reason})`;

const tempDirs = createTempDirs();
const servers: ResponsesServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await tempDirs.removeAll();
});

async function setUp(script: MockScript): Promise<{
  server: ResponsesServer;
  cwd: string;
  run: (prompt: string, resumeThreadId?: string) => Promise<CodexExecRun>;
}> {
  if (!codex.found) {
    throw new Error(codex.reason);
  }
  const binary = codex.path;
  const server = await startResponsesServer({ script });
  servers.push(server);
  const codexHome = await tempDirs.make("codex-home");
  const cwd = await tempDirs.make("workspace");
  return {
    server,
    cwd,
    run: (prompt, resumeThreadId) =>
      runCodexExec({
        binary,
        baseUrl: server.url,
        codexHome,
        cwd,
        prompt,
        ...(resumeThreadId === undefined ? {} : { resumeThreadId }),
      }),
  };
}

// Fails with codex's own output, which is what one needs to see when the wire format drifts.
function expectSuccess(run: CodexExecRun): void {
  expect(
    { exitCode: run.exitCode, timedOut: run.timedOut },
    `stderr:\n${run.stderr}\nevents:\n${JSON.stringify(run.events, null, 1)}`,
  ).toEqual({ exitCode: 0, timedOut: false });
}

function eventTypes(run: CodexExecRun): string[] {
  return run.events.map((event) => event.type);
}

function responsesRequests(server: ResponsesServer): RecordedRequest[] {
  return server.requests.filter((r) => r.method === "POST" && r.path === "/v1/responses");
}

describe.skipIf(!codex.found)(suiteName, () => {
  it("(a) gets a plain text reply with the scripted usage", async () => {
    const { server, run } = await setUp([
      textReply("Hello from the mock model.", {
        usage: { inputTokens: 120, cachedTokens: 20, outputTokens: 9, reasoningTokens: 4 },
      }),
    ]);
    const result = await run("Say hello.");
    expectSuccess(result);

    expect(eventTypes(result)).toEqual([
      "thread.started",
      "turn.started",
      "item.completed",
      "turn.completed",
    ]);
    expect(result.events[2]).toEqual({
      type: "item.completed",
      item: { id: "item_0", type: "agent_message", text: "Hello from the mock model." },
    });
    expect(result.events[3]).toEqual({
      type: "turn.completed",
      usage: {
        input_tokens: 120,
        cached_input_tokens: 20,
        cache_write_input_tokens: 0,
        output_tokens: 9,
        reasoning_output_tokens: 4,
      },
    });

    // codex called nothing but POST /responses, streamed, without credentials.
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /v1/responses"]);
    const [request] = server.requests;
    expect(request?.body?.["stream"]).toBe(true);
    expect(request?.headers["accept"]).toBe("text/event-stream");
    expect(request?.headers["authorization"]).toBeUndefined();
    expect(request?.body?.["prompt_cache_key"]).toBe(result.threadId);
    expect(userPrompts(request!)).toEqual(["Say hello."]);
  });

  it("(b) resends the first turn when the thread is resumed", async () => {
    const { server, run } = await setUp([
      textReply("Nice to meet you, Alice.", { usage: { inputTokens: 10, outputTokens: 5 } }),
      textReply("You are Alice.", { usage: { inputTokens: 30, outputTokens: 7 } }),
    ]);
    const first = await run("My name is Alice.");
    expectSuccess(first);
    expect(first.threadId).toMatch(/^[0-9a-f-]{36}$/);

    const second = await run("What is my name?", first.threadId);
    expectSuccess(second);
    expect(second.threadId).toBe(first.threadId);
    expect(second.events.find((event) => event.type === "item.completed")).toMatchObject({
      item: { type: "agent_message", text: "You are Alice." },
    });
    // turn.completed usage is the thread's running total, not the turn's.
    expect(second.events.at(-1)).toEqual({
      type: "turn.completed",
      usage: {
        input_tokens: 40,
        cached_input_tokens: 0,
        cache_write_input_tokens: 0,
        output_tokens: 12,
        reasoning_output_tokens: 0,
      },
    });

    const requests = responsesRequests(server);
    expect(requests).toHaveLength(2);
    const resumed = requests[1]!;
    expect(userPrompts(resumed)).toEqual(["My name is Alice.", "What is my name?"]);
    expect(messageTexts(resumed, "assistant")).toEqual(["Nice to meet you, Alice."]);
    // History order: first prompt, its answer, then the new prompt last.
    const conversation = inputItems(resumed)
      .filter((item) => item["type"] === "message" && item["role"] !== "developer")
      .map((item) => String(item["role"]))
      .slice(-3);
    expect(conversation).toEqual(["user", "assistant", "user"]);
    expect(lastUserPrompt(resumed)).toBe("What is my name?");
  });

  it("(c) runs an exec_command call and sends back its output under the same call_id", async () => {
    const { server, run } = await setUp([
      respond(execCommand("echo hi", { callId: "call_echo_e2e" })),
      textReply("The command printed hi."),
    ]);
    const result = await run("Run echo hi.");
    expectSuccess(result);

    const commandEvents = result.events.filter(
      (event) => (event["item"] as { type?: string } | undefined)?.type === "command_execution",
    );
    expect(commandEvents.map((event) => event.type)).toEqual(["item.started", "item.completed"]);
    expect(commandEvents[1]?.["item"]).toMatchObject({
      command: "/bin/bash -c 'echo hi'",
      aggregated_output: "hi\n",
      exit_code: 0,
      status: "completed",
    });
    expect(result.events.at(-2)).toMatchObject({
      type: "item.completed",
      item: { type: "agent_message", text: "The command printed hi." },
    });

    const requests = responsesRequests(server);
    expect(requests).toHaveLength(2);
    const followUp = requests[1]!;
    const call = inputItems(followUp).find((item) => item["type"] === "function_call");
    expect(call).toMatchObject({
      name: "exec_command",
      arguments: '{"cmd":"echo hi","login":false}',
      call_id: "call_echo_e2e",
    });
    const output = toolOutputFor(followUp, "call_echo_e2e");
    expect(output?.type).toBe("function_call_output");
    expect(output?.output).toMatch(/Process exited with code 0/);
    expect(commandOutputText(output?.output ?? "")).toBe("hi\n");
  });

  it("(e) passes a 300 KB prompt through stdin unchanged", async () => {
    const { server, run } = await setUp([textReply("Received.")]);
    const line = "0123456789 abcdefghijklmnopqrstuvwxyz ÄÖÜ äöü € 😀 — tab\there\n";
    const prompt = `BEGIN\n${line.repeat(Math.ceil((300 * 1024) / line.length))}END`;
    expect(prompt.length).toBeGreaterThan(300 * 1024);

    const result = await run(prompt);
    expectSuccess(result);
    expect(result.events.at(-2)).toMatchObject({ item: { text: "Received." } });
    const [request] = responsesRequests(server);
    expect(lastUserPrompt(request!)).toBe(prompt);
  });

  it("runs the demo script: ls in turn 1, the name from the resumed history in turn 2", async () => {
    const { cwd, run } = await setUp(demoScript);
    await writeFile(join(cwd, "notes.txt"), "hello\n");
    const first = await run(DEMO_PROMPTS.first);
    expectSuccess(first);
    expect(
      first.events.map((event) => (event["item"] as { type?: string } | undefined)?.type),
    ).toEqual([
      undefined,
      undefined,
      "reasoning",
      "command_execution",
      "command_execution",
      "agent_message",
      undefined,
    ]);
    expect(first.events.at(-2)).toMatchObject({
      item: {
        text: "Nice to meet you, Alice! `ls` found these files in this workspace:\nnotes.txt",
      },
    });

    const second = await run(DEMO_PROMPTS.second, first.threadId);
    expectSuccess(second);
    expect(second.events.at(-2)).toMatchObject({
      item: {
        type: "agent_message",
        text: `Your name is Alice. You told me earlier in this conversation: "${DEMO_PROMPTS.first}"`,
      },
    });
  });
});
