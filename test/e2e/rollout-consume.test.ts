// The rollout mirror and Consume through the BUILT plugin and the REAL codex: tool calls carry the
// call ids the mock model issued, and a consumed call reaches the model as a marker on resume.
import { createHash } from "node:crypto";
import { readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { status as GrpcStatus } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";

import { mockProviderOverrides } from "../../internal/mock-model/codex-provider-overrides.js";
import type { MockReply, MockScriptFunction } from "../../internal/mock-model/mock-reply.js";
import type { RecordedRequest } from "../../internal/mock-model/recorded-request.js";
import {
  applyPatchCommand,
  customToolCall,
  execCommand,
  respond,
  textReply,
} from "../../internal/mock-model/reply-builders.js";
import { toolOutputFor } from "../../internal/mock-model/request-input.js";
import { CONSUMED_MARKER } from "../../internal/rollout/consume-rollout.js";
import { zstdCompress } from "../../internal/rollout/zstd.js";
import { TurnEnd_Outcome, type TurnEvent } from "../../src/gen/plexum/provider/v1/provider_pb.js";
import { findCodexBinary } from "../helpers/codex-bin.js";
import {
  eventsOf,
  ON_APP_SERVER,
  PluginHarness,
  type TurnResult,
} from "../helpers/plugin-harness.js";

const codex = findCodexBinary();

let harness: PluginHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

// The shell command's output never appears in its own arguments, so an elided output is provable.
const SHELL_COMMAND = "printf 'tool-%s-output' secret";
const SHELL_OUTPUT = "tool-secret-output";
const PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+Hello from the patch\n*** End Patch";
const CUSTOM_PATCH = "*** Begin Patch\n*** Add File: custom.txt\n+custom tool\n*** End Patch";
const CODE_MODE =
  'const r = await tools.exec_command({cmd: "echo nested-call-output", login: false}); text(r);';

function responsesRequests(h: PluginHarness): RecordedRequest[] {
  return (h.server?.requests ?? []).filter(
    (r) => r.method === "POST" && r.path === "/v1/responses",
  );
}

function expectCompleted(turn: TurnResult): void {
  expect(
    { outcome: turn.end.outcome, exitCode: turn.end.exitCode },
    `${turn.end.message}\n${turn.end.stderrTail}`,
  ).toEqual({ outcome: TurnEnd_Outcome.COMPLETED, exitCode: 0 });
}

function caseIndex(events: TurnEvent[], kind: NonNullable<TurnEvent["event"]["case"]>): number {
  return events.findIndex((event) => event.event.case === kind);
}

async function rolloutFiles(h: PluginHarness): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.startsWith("rollout-")) found.push(path);
    }
  };
  await walk(join(h.codexHome, "sessions"));
  return found;
}

async function onlyRollout(h: PluginHarness): Promise<string> {
  const files = await rolloutFiles(h);
  expect(files).toHaveLength(1);
  return files[0] ?? "";
}

const sha = async (path: string) =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");

function grpcError(error: unknown): { code: number; details: string } {
  return error as { code: number; details: string };
}

describe.skipIf(!codex.found)("rollout mirror and Consume with the real codex", () => {
  it("reports tool calls with the mock's call ids, and Consume elides them on resume", async () => {
    harness = await PluginHarness.start({
      script: [
        respond(execCommand(SHELL_COMMAND, { callId: "call_shell_e2e" })),
        respond(applyPatchCommand(PATCH, { callId: "call_patch_e2e" })),
        respond(
          customToolCall({ name: "apply_patch", input: CUSTOM_PATCH, callId: "call_custom_e2e" }),
        ),
        respond(customToolCall({ name: "exec", input: CODE_MODE, callId: "call_code_e2e" })),
        textReply("all done"),
        textReply("resumed fine"),
      ],
    });
    const agentId = "rollout-agent";
    const first = await harness.turn({ agentId, prompt: "use the tools" });
    expectCompleted(first);

    const calls = eventsOf(first.events, "toolCall");
    expect(calls.filter((call) => call.kind !== "nested").map((call) => call.callId)).toEqual([
      "call_shell_e2e",
      "call_patch_e2e",
      "call_custom_e2e",
      "call_code_e2e",
    ]);
    expect(calls.map((call) => [call.name, call.kind])).toEqual([
      ["exec_command", "function_call"],
      ["exec_command", "function_call"],
      ["apply_patch", "custom_tool_call"],
      ["exec", "custom_tool_call"],
      ["exec_command", "nested"],
    ]);
    expect(JSON.parse(calls[0]?.arguments ?? "")).toMatchObject({ cmd: SHELL_COMMAND });
    expect(calls[2]?.arguments).toBe(CUSTOM_PATCH);
    expect(calls[4]?.callId).toMatch(/^exec-[0-9a-f-]{36}$/);

    const results = eventsOf(first.events, "toolResult");
    const resultOf = (id: string) => results.find((result) => result.callId === id);
    expect(resultOf("call_shell_e2e")?.output).toContain(SHELL_OUTPUT);
    expect(resultOf("call_patch_e2e")?.output).toContain("A hello.txt");
    expect(resultOf("call_custom_e2e")?.output).toContain("A custom.txt");
    expect(resultOf(calls[4]?.callId ?? "")?.output).toBe("nested-call-output\n");
    // The exec call's output is a content-item array: text plus the JSON of the array.
    expect(resultOf("call_code_e2e")?.output).toContain("nested-call-output");
    expect(JSON.parse(resultOf("call_code_e2e")?.outputJson ?? "")).toBeInstanceOf(Array);
    // Ids agree with what the model itself saw on its next request.
    const second = responsesRequests(harness)[1];
    expect(toolOutputFor(second!, "call_shell_e2e")?.output).toContain(SHELL_OUTPUT);

    // Live: the first tool call is out before the turn's usage (turn.completed); all before turn_end.
    expect(caseIndex(first.events, "toolCall")).toBeLessThan(caseIndex(first.events, "usage"));
    expect(first.events.at(-1)?.event.case).toBe("turnEnd");
    // The cursor is stored with the thread.
    const record = await harness.threadRecord(agentId);
    const rollout = await onlyRollout(harness);
    expect(record["rollout"]).toMatchObject({ path: rollout, offset: (await stat(rollout)).size });

    const consumed = await harness.client.consume({
      agentId,
      blockIds: ["call_shell_e2e", "call_custom_e2e", "call_unknown_e2e"],
    });
    expect(consumed).toMatchObject({
      rewritten: ["call_shell_e2e", "call_custom_e2e"],
      alreadyConsumed: [],
      notFound: ["call_unknown_e2e"],
    });
    // Twice is a no-op.
    const digest = await sha(rollout);
    const again = await harness.client.consume({
      agentId,
      blockIds: ["call_shell_e2e", "call_custom_e2e"],
    });
    expect(again).toMatchObject({
      rewritten: [],
      alreadyConsumed: ["call_shell_e2e", "call_custom_e2e"],
      notFound: [],
    });
    expect(await sha(rollout)).toBe(digest);

    const resumed = await harness.turn({ agentId, prompt: "and now?" });
    expectCompleted(resumed);
    expect(eventsOf(resumed.events, "turnStarted")[0]?.resumed).toBe(true);
    const resumeRequest = responsesRequests(harness).at(-1)!;
    expect(resumeRequest.rawBody).toContain(CONSUMED_MARKER);
    expect(resumeRequest.rawBody).not.toContain(SHELL_OUTPUT);
    expect(resumeRequest.rawBody).not.toContain("tool-%s-output");
    expect(resumeRequest.rawBody).not.toContain("+custom tool");
    expect(toolOutputFor(resumeRequest, "call_shell_e2e")?.output).toBe(CONSUMED_MARKER);
    // What was not consumed is still there.
    expect(resumeRequest.rawBody).toContain("Hello from the patch");
    // The resumed turn mirrors from the moved cursor: no replay of the first turn's calls.
    expect(eventsOf(resumed.events, "toolCall")).toEqual([]);
    expect(eventsOf(resumed.events, "notice").map((notice) => notice.message)).not.toContainEqual(
      expect.stringContaining("changed before byte"),
    );
  });

  it("refuses Consume while the agent's turn runs, and serves it after turn_end", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const script: MockScriptFunction = async (_request, index): Promise<MockReply> => {
      if (index === 0) return respond(execCommand("echo first", { callId: "call_busy_1" }));
      await gate;
      return textReply("finished");
    };
    harness = await PluginHarness.start({ script });
    const agentId = "busy-agent";
    const running = harness.turn({ agentId, prompt: "slow turn" });
    await harness.server!.waitForResponsesRequests(2, 60_000);

    const refused = await harness.client
      .consume({ agentId, blockIds: ["call_busy_1"] })
      .then(() => undefined, grpcError);
    expect(refused?.code).toBe(GrpcStatus.ABORTED);
    expect(refused?.details).toContain("AGENT_BUSY");

    release();
    expectCompleted(await running);
    const consumed = await harness.client.consume({ agentId, blockIds: ["call_busy_1"] });
    expect(consumed.rewritten).toEqual(["call_busy_1"]);
  });

  it("survives a corrupt line in the middle and a last line cut short", async () => {
    harness = await PluginHarness.start({
      script: [
        respond(execCommand("echo before-corruption", { callId: "call_before" })),
        textReply("one"),
        respond(execCommand("echo after-corruption", { callId: "call_after" })),
        textReply("two"),
      ],
    });
    const agentId = "corrupt-agent";
    expectCompleted(await harness.turn({ agentId, prompt: "first" }));
    const rollout = await onlyRollout(harness);
    const lines = (await readFile(rollout, "utf8")).split("\n");
    const garbage = '{"timestamp":"2026-01-01T00:00:00Z","ordinal":4242,"type":"response_it';
    lines.splice(3, 0, garbage);
    const cut = '{"timestamp":"2026-01-01T00:00:01Z","ordinal":4243,"type":"event_msg","payl';
    // The file ends with "\n", so the last element is "": the cut line replaces it.
    lines[lines.length - 1] = cut;
    await writeFile(rollout, lines.join("\n"));

    const consumed = await harness.client.consume({ agentId, blockIds: ["call_before"] });
    expect(consumed.rewritten).toEqual(["call_before"]);
    const after = await readFile(rollout, "utf8");
    expect(after.split("\n")[3]).toBe(garbage);
    expect(after.endsWith(`\n${cut}`)).toBe(true);

    const second = await harness.turn({ agentId, prompt: "second" });
    expectCompleted(second);
    // The mirror reads on past both damaged lines (codex newline-terminates the cut one), and
    // says what it skipped; the insertion before its cursor makes it re-read after the last
    // ordinal it saw, without replaying the first turn.
    expect(eventsOf(second.events, "toolCall").map((call) => call.callId)).toEqual(["call_after"]);
    const notices = eventsOf(second.events, "notice").map((notice) => notice.message);
    expect(notices).toContainEqual(expect.stringContaining("changed before byte"));
    expect(notices).toContainEqual(expect.stringMatching(/skipped \d line\(s\) of rollout/));
    const body = responsesRequests(harness)[2]!.rawBody;
    expect(body).toContain(CONSUMED_MARKER);
    expect(body).not.toContain("before-corruption");
  });

  it("consumes in a .jsonl.zst rollout, which codex then resumes", async () => {
    harness = await PluginHarness.start({
      script: [
        respond(execCommand(SHELL_COMMAND, { callId: "call_zst" })),
        textReply("one"),
        respond(execCommand("echo after-zst", { callId: "call_after_zst" })),
        textReply("two"),
      ],
    });
    const agentId = "zst-agent";
    expectCompleted(await harness.turn({ agentId, prompt: "first" }));
    const plain = await onlyRollout(harness);
    const compressed = `${plain}.zst`;
    await writeFile(compressed, await zstdCompress(await readFile(plain)));
    await rm(plain);

    const consumed = await harness.client.consume({ agentId, blockIds: ["call_zst"] });
    expect(consumed.rewritten).toEqual(["call_zst"]);
    expect((await readFile(compressed)).readUInt32LE(0)).toBe(0xfd2fb528);

    const second = await harness.turn({ agentId, prompt: "second" });
    expectCompleted(second);
    const body = responsesRequests(harness)[2]!.rawBody;
    expect(body).toContain(CONSUMED_MARKER);
    expect(body).not.toContain(SHELL_OUTPUT);
    // codex wrote the thread back as plain JSONL; the mirror followed it.
    expect(await rolloutFiles(harness)).toEqual([plain]);
    expect(eventsOf(second.events, "toolCall").map((call) => call.callId)).toEqual([
      "call_after_zst",
    ]);
    expect((await harness.threadRecord(agentId))["rollout"]).toMatchObject({ path: plain });
  });

  it("finds the rollout in the agent's own CODEX_HOME with per_agent_codex_home", async () => {
    harness = await PluginHarness.start({
      script: [
        respond(execCommand(SHELL_COMMAND, { callId: "call_own_home" })),
        textReply("one"),
        textReply("two"),
      ],
      config: { per_agent_codex_home: true },
    });
    const agentId = "own-home-agent";
    const first = await harness.turn({ agentId, prompt: "first" });
    expectCompleted(first);
    expect(eventsOf(first.events, "toolCall").map((call) => call.callId)).toEqual([
      "call_own_home",
    ]);
    expect(await rolloutFiles(harness).catch(() => [])).toEqual([]);
    const consumed = await harness.client.consume({ agentId, blockIds: ["call_own_home"] });
    expect(consumed.rewritten).toEqual(["call_own_home"]);
    expectCompleted(await harness.turn({ agentId, prompt: "second" }));
    const body = responsesRequests(harness).at(-1)!.rawBody;
    expect(body).toContain(CONSUMED_MARKER);
    expect(body).not.toContain(SHELL_OUTPUT);
  });

  // --ephemeral is a flag of `codex exec` (extra_args), which the app-server backend does not run.
  it.skipIf(ON_APP_SERVER)(
    "reports a missing rollout as a typed error: an event in a turn, NOT_FOUND from Consume",
    async () => {
      // --ephemeral: codex completes the turn without writing a rollout.
      harness = await PluginHarness.start({
        script: [textReply("one"), textReply("two")],
        config: { extra_args: ["--ephemeral"] },
      });
      const ephemeral = await harness.turn({ agentId: "ephemeral-agent", prompt: "first" });
      expectCompleted(ephemeral);
      expect(eventsOf(ephemeral.events, "error")).toEqual([
        expect.objectContaining({ code: "ROLLOUT_NOT_FOUND", retryable: false }),
      ]);

      await harness.configure({
        state_dir: harness.stateDir,
        codex_home: harness.codexHome,
        config_overrides: mockProviderOverrides(harness.server!.url),
      });
      const agentId = "missing-agent";
      expectCompleted(await harness.turn({ agentId, prompt: "second" }));
      await rm(await onlyRollout(harness));
      const refused = await harness.client
        .consume({ agentId, blockIds: ["x"] })
        .then(() => undefined, grpcError);
      expect(refused?.code).toBe(GrpcStatus.NOT_FOUND);
      expect(refused?.details).toContain("ROLLOUT_NOT_FOUND");
    },
  );
});
