// The built plugin executable, launched through the real go-plugin handshake as the daemon does,
// running the real pinned codex against a mock Responses API on 127.0.0.1.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile, readlink } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

import { status as GrpcStatus } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";

import {
  codexCapabilityNames,
  codexFeatures,
  codexVersionDiagnostics,
  missingFeatureNotes,
  untestedCodexDiagnostic,
} from "../../internal/codex/codex-capabilities.js";
import {
  execCommand,
  reasoning,
  respond,
  textReply,
} from "../../internal/mock-model/reply-builders.js";
import {
  lastUserPrompt,
  messageTexts,
  userPrompts,
} from "../../internal/mock-model/request-input.js";
import {
  Health,
  HealthCheckResponse_ServingStatus,
} from "../../src/gen/grpc/health/v1/health_pb.js";
import {
  Diagnostic_Severity,
  ErrorClass,
  Message_Role,
  type RunTurnResponse,
  ToolEvent_Phase,
  TurnEnd_Outcome,
  type TurnEvent,
} from "../../src/gen/plexum/provider/v1/provider_pb.js";
import { codexUnderTest } from "../helpers/codex-bin.js";
import { eventsOf, ON_APP_SERVER, PLUGIN_PATH, PluginHarness } from "../helpers/plugin-harness.js";

let harness: PluginHarness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

// Every process whose argv or cwd matches, from /proc.
async function findProcesses(match: (argv: string[], cwd: string) => boolean): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = (await readFile(`/proc/${entry}/cmdline`, "utf8")).split("\0").filter(Boolean);
      const cwd = await readlink(`/proc/${entry}/cwd`).catch(() => "");
      if (match(argv, cwd)) found.push(Number(entry));
    } catch {
      // Exited while we looked.
    }
  }
  return found;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe("go-plugin contract of the built binary", () => {
  it("refuses to run without the magic cookie: exit 1, message on stderr, nothing on stdout", () => {
    const env = { ...process.env };
    delete env.PLEXUM_PLUGIN_COOKIE;
    const run = spawnSync(PLUGIN_PATH, [], { env, encoding: "utf8", timeout: 10_000 });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain(
      "This binary is a plugin. These are not meant to be executed directly.",
    );
  });

  it("serves health, ignores SIGINT, and shuts down within 2 s removing its socket", async () => {
    harness = await PluginHarness.start({ skipConfigure: true });
    const { plugin } = harness;
    expect(plugin.handshake.network).toBe("unix");
    const socket = plugin.handshake.address;
    expect(existsSync(socket)).toBe(true);

    const health = plugin.createClient(Health);
    expect((await health.check({ service: "plugin" })).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );

    process.kill(plugin.process.pid!, "SIGINT");
    await sleep(300);
    expect((await health.check({ service: "plugin" })).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
    health.close();

    const info = await harness.client.getInfo({});
    expect(info.name).toBe("plexum-openai-provider");
    expect(info.protocolVersion).toBe(1);
    expect(info.configured).toBe(false);

    const exit = await plugin.kill();
    expect(exit.signal).toBeNull();
    expect(exit.exitCode).toBe(0);
    expect(exit.durationMs).toBeLessThan(2000);
    expect(existsSync(socket)).toBe(false);
  });

  it("logs only hclog JSON lines on stderr", async () => {
    harness = await PluginHarness.start({ script: [textReply("ok")] });
    await harness.turn({ agentId: "logs", prompt: "hello" });
    expect(harness.stderrLines.length).toBeGreaterThan(0);
    for (const line of harness.stderrLines) {
      const record = JSON.parse(line) as Record<string, unknown>;
      expect(typeof record["@message"]).toBe("string");
      expect(["trace", "debug", "info", "warn", "error"]).toContain(record["@level"]);
      expect(record["@timestamp"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    }
  });
});

describe("Configure", () => {
  it("rejects malformed config with INVALID_ARGUMENT naming every bad field", async () => {
    harness = await PluginHarness.start({ skipConfigure: true });
    const error = await harness
      .configure({ binary: 42, bogus_key: true, timeouts: { turn_seconds: -5 } })
      .then(
        () => undefined,
        (e: unknown) => e as { code: number; details: string },
      );
    expect(error?.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(error?.details).toContain("binary");
    expect(error?.details).toContain("bogus_key");
    expect(error?.details).toContain("timeouts.turn_seconds");
    // The plugin keeps serving.
    expect((await harness.client.getInfo({})).name).toBe("plexum-openai-provider");
  });

  it("refuses a 4 MB model_args with INVALID_ARGUMENT naming model_args, and keeps serving", async () => {
    harness = await PluginHarness.start({ skipConfigure: true });
    const modelArgs = Object.fromEntries(
      Array.from({ length: 170_000 }, (_, i) => [`model-${i}`, `gpt-${i}`]),
    );
    expect(JSON.stringify(modelArgs).length).toBeGreaterThan(4_000_000);
    const refused = (config: unknown) =>
      harness!.configure(config).then(
        () => undefined,
        (e: unknown) => e as { code: number; details: string },
      );

    const error = await refused({ model_args: modelArgs });
    expect(error?.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(error?.details).toContain("CONFIG_INVALID");
    expect(error?.details).toContain("model_args: has 170000 entries; at most 256 are accepted");
    expect(error?.details.length).toBeLessThan(1000);

    // Thousands of problems make one short message: a status message of some 100 KB never reached
    // a grpc-js client (the call hung to its deadline).
    const unknownKeys = Object.fromEntries(
      Array.from({ length: 3000 }, (_, i) => [`unknown_key_${i}_${"u".repeat(40)}`, 1]),
    );
    const many = await refused(unknownKeys);
    expect(many?.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(many?.details).toMatch(/; and 2980 more problems$/);

    const info = await harness.client.getInfo({});
    expect(info.name).toBe("plexum-openai-provider");
    expect(info.configured).toBe(false);
  });

  it("says what the codex it runs can do: codex.<feature> capabilities, and warnings", async () => {
    harness = await PluginHarness.start({ skipConfigure: true });
    const codex = codexUnderTest();
    if (codex === undefined) throw new Error("no codex under test");
    const response = await harness.configure({
      state_dir: harness.stateDir,
      codex_home: harness.codexHome,
    });
    // Only the features this release has, and a warning for each it lacks (none for the pin).
    const info = await harness.client.getInfo({});
    expect(info.capabilities.filter((name) => name.startsWith("codex."))).toEqual(
      codexCapabilityNames(codexFeatures(codex.version)),
    );
    const expected = codexVersionDiagnostics(codex.version, ON_APP_SERVER ? "app-server" : "exec");
    expect(response.diagnostics.filter((diagnostic) => diagnostic.field === "binary")).toEqual(
      expected.map((diagnostic) =>
        expect.objectContaining({
          severity: Diagnostic_Severity.WARNING,
          summary: diagnostic.summary,
          detail: diagnostic.detail,
        }),
      ),
    );
    // GetInfo's notes say what works differently with this codex under either backend.
    const untested = untestedCodexDiagnostic(codex.version);
    expect(info.codex?.notes).toEqual([
      ...(untested === undefined ? [] : [untested.summary]),
      ...missingFeatureNotes(codex.version),
    ]);
  });

  it("refuses turn and Consume fields over their bounds with INVALID_ARGUMENT before any work", async () => {
    harness = await PluginHarness.start({ script: [textReply("unused")] });
    const turnError = (input: Parameters<PluginHarness["turn"]>[0]) =>
      harness!.turn(input).then(
        () => undefined,
        (e: unknown) => e as { code: number; details: string },
      );

    const workspace = await turnError({
      agentId: "limits",
      prompt: "hi",
      workspace: `${harness.workspace}/${"w/".repeat(1_000_000)}`,
    });
    expect(workspace?.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(workspace?.details).toContain("WORKSPACE_INVALID: agent.workspace is over 4095 bytes");

    const overrides = await turnError({
      agentId: "limits",
      prompt: "hi",
      options: {
        configOverrides: Object.fromEntries(
          Array.from({ length: 300_000 }, (_, i) => [`k${i}`, "1"]),
        ),
        writableDirs: [`/srv/${"c".repeat(256)}`],
      },
    });
    expect(overrides?.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(overrides?.details).toContain(
      "REQUEST_INVALID: invalid turn request: options.config_overrides: has 300000 entries",
    );
    expect(overrides?.details).toContain("options.writable_dirs.0: has a component over 255 bytes");

    const consume = await harness.client
      .consume({
        agentId: "limits",
        blockIds: Array.from({ length: 20_000 }, (_, i) => `call_${i}`),
      })
      .then(
        () => undefined,
        (e: unknown) => e as { code: number; details: string },
      );
    expect(consume?.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(consume?.details).toContain("block_ids: has 20000 entries; at most 10000");

    // Nothing reached codex, and the plugin still runs turns.
    expect(harness.server?.requests).toHaveLength(0);
    const { end } = await harness.turn({ agentId: "limits", prompt: "hello" });
    expect(end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
  });

  it("reports a missing codex as degraded, fails turns with a typed error, and keeps serving", async () => {
    harness = await PluginHarness.start({ script: [textReply("unused")] });
    const configured = await harness.configure({
      state_dir: harness.stateDir,
      binary: "/nonexistent/bin/codex",
    });
    expect(configured.codex?.ready).toBe(false);
    expect(configured.codex?.degradedReason).toContain("/nonexistent/bin/codex");
    expect(configured.diagnostics.some((d) => d.field === "binary")).toBe(true);

    const info = await harness.client.getInfo({});
    expect(info.codex?.ready).toBe(false);
    expect(info.configured).toBe(true);

    const { events, end } = await harness.turn({ agentId: "no-codex", prompt: "hello" });
    expect(end.outcome).toBe(TurnEnd_Outcome.FAILED);
    expect(end.error?.code).toBe("CODEX_BINARY_NOT_FOUND");
    expect(end.error?.class).toBe(ErrorClass.PRECONDITION);
    expect(eventsOf(events, "error")).toHaveLength(1);
    expect(harness.server?.requests).toHaveLength(0);

    const health = harness.plugin.createClient(Health);
    expect((await health.check({ service: "plugin" })).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
    health.close();
  });
});

describe("RunTurn with the real codex", () => {
  it("resumes the stored thread on the second turn and reports per-turn usage", async () => {
    const usage = { inputTokens: 100, cachedTokens: 20, outputTokens: 10, reasoningTokens: 3 };
    harness = await PluginHarness.start({
      script: [
        textReply("First answer: noted, the code word is PAPAYA.", { usage }),
        textReply("Second answer.", { usage }),
      ],
    });

    const first = await harness.turn({
      agentId: "resume-agent",
      prompt: "The code word is PAPAYA.",
    });
    expect(first.end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
    const [started1] = eventsOf(first.events, "turnStarted");
    expect(started1?.resumed).toBe(false);
    expect(started1?.threadId).toMatch(/^[0-9a-f-]{36}$/);
    expect(eventsOf(first.events, "text").map((t) => t.text)).toEqual([
      "First answer: noted, the code word is PAPAYA.",
    ]);
    expect(first.end.finalText).toBe("First answer: noted, the code word is PAPAYA.");
    expect((await harness.threadRecord("resume-agent")).thread_id).toBe(started1?.threadId);

    const second = await harness.turn({
      agentId: "resume-agent",
      prompt: "What was the code word?",
    });
    expect(second.end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
    const [started2] = eventsOf(second.events, "turnStarted");
    expect(started2?.resumed).toBe(true);
    expect(started2?.threadId).toBe(started1?.threadId);

    // The second request carries the first turn: codex resumed the thread.
    const resumedRequest = harness.server!.requests[1]!;
    expect(userPrompts(resumedRequest)).toEqual([
      "The code word is PAPAYA.",
      "What was the code word?",
    ]);
    expect(messageTexts(resumedRequest, "assistant")).toContain(
      "First answer: noted, the code word is PAPAYA.",
    );

    // Per turn, not cumulative: 100 then 100 (codex itself reports 100 then 200).
    const [usage1] = eventsOf(first.events, "usage");
    const [usage2] = eventsOf(second.events, "usage");
    expect(usage1?.turn?.inputTokens).toBe(100n);
    expect(usage1?.turn?.cachedInputTokens).toBe(20n);
    expect(usage1?.turn?.outputTokens).toBe(10n);
    expect(usage1?.turn?.reasoningOutputTokens).toBe(3n);
    expect(usage2?.turn?.inputTokens).toBe(100n);
    expect(usage2?.turn?.cachedInputTokens).toBe(20n);
    expect(usage2?.turn?.outputTokens).toBe(10n);
    expect(usage2?.turn?.reasoningOutputTokens).toBe(3n);
    expect(usage2?.thread?.inputTokens).toBe(200n);
    expect(second.end.usage?.inputTokens).toBe(100n);

    // Sequence numbers are 1..n, and turn_end is last and only once.
    expect(second.events.map((e) => Number(e.seq))).toEqual(
      second.events.map((_, index) => index + 1),
    );
    expect(eventsOf(second.events, "turnEnd")).toHaveLength(1);
  });

  it("streams reasoning and command events, lists models, and resets the thread", async () => {
    harness = await PluginHarness.start({
      script: (_request, index) =>
        index === 0
          ? respond([reasoning("Look first."), execCommand("echo tool-output-42")])
          : textReply("done"),
      config: { supported_models: ["codex", "fast"], model_args: { fast: "gpt-fast-1" } },
    });
    const models = await harness.client.listModels({});
    expect(models.models.map((m) => [m.id, m.cliModel, m.default])).toEqual([
      ["codex", "", true],
      ["fast", "gpt-fast-1", false],
    ]);

    const first = await harness.turn({ agentId: "tools-agent", prompt: "look around" });
    expect(first.end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
    expect(eventsOf(first.events, "reasoning").map((r) => r.text)).toEqual(["Look first."]);
    const tools = eventsOf(first.events, "tool");
    const completed = tools.find((t) => t.phase === ToolEvent_Phase.COMPLETED);
    expect(tools[0]?.phase).toBe(ToolEvent_Phase.STARTED);
    expect(completed?.tool.case).toBe("command");
    if (completed?.tool.case === "command") {
      expect(completed.tool.value.command).toContain("echo tool-output-42");
      expect(completed.tool.value.aggregatedOutput).toContain("tool-output-42");
      expect(completed.tool.value.exitCode).toBe(0);
    }
    const threadId = eventsOf(first.events, "turnStarted")[0]?.threadId;

    const reset = await harness.client.resetThread({ agentId: "tools-agent" });
    expect(reset.previousThreadId).toBe(threadId);
    const second = await harness.turn({ agentId: "tools-agent", prompt: "again" });
    const [started] = eventsOf(second.events, "turnStarted");
    expect(started?.resumed).toBe(false);
    expect(started?.threadId).not.toBe(threadId);
  });

  it("passes a 300 KB prompt through stdin intact", async () => {
    harness = await PluginHarness.start({ script: [textReply("got it")] });
    const line = "The quick brown fox jumps over the lazy dog — ünïcödé ✓.\n";
    const prompt = line.repeat(Math.ceil((300 * 1024) / line.length)) + "END-OF-PROMPT";
    const { end } = await harness.turn({ agentId: "big-prompt", prompt });
    expect(end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
    expect(lastUserPrompt(harness.server!.requests[0]!)).toBe(prompt);
  });

  it("cancels mid-command: a cancelled turn_end and no process of the turn left", async () => {
    // Unique argv markers: a foreground sleep, and a background one that ignores SIGTERM.
    const marker = String(7000 + Math.floor(Math.random() * 1000));
    const command = `(trap '' TERM; exec sleep ${marker}1) & exec sleep ${marker}2`;
    harness = await PluginHarness.start({
      script: (_request, index) =>
        index === 0
          ? respond(execCommand(command, { extraArgs: { yield_time_ms: 60_000 } }))
          : textReply("done"),
    });
    const isOurs = (argv: string[], cwd: string) =>
      cwd === harness!.workspace ||
      (argv[0] === "sleep" && (argv[1] === `${marker}1` || argv[1] === `${marker}2`));

    const turn = harness.turn({ agentId: "cancel-agent", prompt: "run the long command" });
    await waitFor("both sleeps to run", async () => {
      const sleeps = await findProcesses(
        (argv) => argv[0] === "sleep" && argv[1]?.startsWith(marker) === true,
      );
      return sleeps.length === 2 ? sleeps : undefined;
    });
    expect((await findProcesses(isOurs)).length).toBeGreaterThan(0);

    const cancel = await harness.client.cancelTurn({
      agentId: "cancel-agent",
      reason: "test cancel",
    });
    expect(cancel.cancelled).toBe(true);
    const { events, end } = await turn;
    expect(end.outcome).toBe(TurnEnd_Outcome.CANCELLED);
    expect(end.message).toContain("test cancel");
    expect(eventsOf(events, "turnEnd")).toHaveLength(1);

    await waitFor(
      "every process of the turn to be gone",
      async () => ((await findProcesses(isOurs)).length === 0 ? true : undefined),
      10_000,
    );
    // Nothing left to cancel.
    expect((await harness.client.cancelTurn({ agentId: "cancel-agent" })).cancelled).toBe(false);
  });

  it("cancels through a cancel message on the RunTurn stream", async () => {
    const marker = String(8000 + Math.floor(Math.random() * 1000));
    harness = await PluginHarness.start({
      script: [
        respond(execCommand(`exec sleep ${marker}`, { extraArgs: { yield_time_ms: 60_000 } })),
      ],
    });
    const controller = new AbortController();
    const turn = harness.turn({
      agentId: "stream-cancel",
      prompt: "sleep",
      signal: controller.signal,
    });
    const isSleep = (argv: string[]) => argv[0] === "sleep" && argv[1] === marker;
    await waitFor("the sleep to run", async () =>
      (await findProcesses(isSleep)).length > 0 ? true : undefined,
    );
    controller.abort();
    const { end } = await turn;
    expect(end.outcome).toBe(TurnEnd_Outcome.CANCELLED);
    await waitFor(
      "the sleep to be gone",
      async () => ((await findProcesses(isSleep)).length === 0 ? true : undefined),
      10_000,
    );
  });

  it("stops the turn's processes when the host drops the RunTurn stream", async () => {
    const marker = String(9000 + Math.floor(Math.random() * 1000));
    harness = await PluginHarness.start({
      script: [
        respond(execCommand(`exec sleep ${marker}`, { extraArgs: { yield_time_ms: 60_000 } })),
      ],
    });
    const call = harness.client.runTurn();
    call.on("error", () => {});
    call.write({
      request: {
        case: "start",
        value: {
          agent: { agentId: "dropped", workspace: harness.workspace },
          conversation: [{ role: Message_Role.USER, text: "sleep" }],
        },
      },
    });
    const isSleep = (argv: string[]) => argv[0] === "sleep" && argv[1] === marker;
    await waitFor("the sleep to run", async () =>
      (await findProcesses(isSleep)).length > 0 ? true : undefined,
    );
    call.cancel();
    await waitFor(
      "every process of the turn to be gone",
      async () =>
        (await findProcesses((argv, cwd) => isSleep(argv) || cwd === harness!.workspace)).length ===
        0
          ? true
          : undefined,
      10_000,
    );
    // The agent is free again.
    await waitFor("the agent to be idle", async () =>
      (await harness!.client.cancelTurn({ agentId: "dropped" })).cancelled ? undefined : true,
    );
  });

  it("tells the host about a second start and an unknown tool_result on its stream", async () => {
    harness = await PluginHarness.start({ script: [textReply("slow done", { delayMs: 3000 })] });
    const call = harness.client.runTurn();
    const start = {
      case: "start" as const,
      value: {
        agent: { agentId: "stream-mistakes", workspace: harness.workspace },
        conversation: [{ role: Message_Role.USER, text: "hi" }],
      },
    };
    call.write({ request: start });
    const events: TurnEvent[] = [];
    for await (const response of call as AsyncIterable<RunTurnResponse>) {
      if (response.event !== undefined) events.push(response.event);
      if (response.event?.event.case === "turnStarted") {
        call.write({ request: start });
        call.write({
          request: {
            case: "toolResult",
            value: { requestId: "req-unknown-7", text: "late", isError: false, contentJson: "" },
          },
        });
      }
    }
    const notices = events.flatMap((event) =>
      event.event.case === "notice" && event.event.value.code !== "" ? [event.event.value] : [],
    );
    expect(notices.map((notice) => notice.code).sort()).toEqual([
      "HOST_START_REPEATED",
      "HOST_TOOL_RESULT_UNKNOWN",
    ]);
    expect(notices.find((notice) => notice.code === "HOST_TOOL_RESULT_UNKNOWN")?.message).toContain(
      '"req-unknown-7"',
    );
    const end = events.at(-1)?.event;
    expect(end?.case === "turnEnd" && end.value.finalText).toBe("slow done");
  });

  it("rejects a second concurrent turn of the same agent while another agent's turn runs", async () => {
    harness = await PluginHarness.start({
      script: (request) =>
        lastUserPrompt(request)?.includes("slow") === true
          ? textReply("slow done", { delayMs: 4000 })
          : textReply("fast done"),
    });
    const slow = harness.turn({ agentId: "agent-a", prompt: "slow turn" });
    let slowSettled = false;
    void slow.finally(() => {
      slowSettled = true;
    });
    await waitFor("the slow request", async () =>
      harness!.server!.requests.length > 0 ? true : undefined,
    );

    const rejected = await harness.turn({ agentId: "agent-a", prompt: "second turn" }).then(
      () => undefined,
      (e: unknown) => e as { code: number; details: string },
    );
    expect(rejected?.code).toBe(GrpcStatus.ABORTED);
    expect(rejected?.details).toContain("already has a turn running");

    const other = await harness.turn({ agentId: "agent-b", prompt: "fast turn" });
    expect(other.end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
    expect(other.end.finalText).toBe("fast done");
    expect(slowSettled).toBe(false);

    const first = await slow;
    expect(first.end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
    expect(first.end.finalText).toBe("slow done");
  });
});
