// P4: 16 agents × 5 turns at once. Against one scripted mock model (each reply names the agent and
// turn it answers), with the real codex (CODEX_BIN, else the pinned one):
//   - through one built plugin: 16 concurrent chains of 5 RunTurn calls, each turn resuming the
//     agent's thread (per_agent_codex_home, as parallel agents should run). Every turn is checked:
//     seq from 1 without gaps, exactly one turn_end and it is last, completed, the expected reply,
//     the same thread as the agent's first turn. The plugin's RSS is sampled every 100 ms and its
//     peak (VmHWM, reset before each run) recorded;
//   - 16 chains of 5 plain `codex exec --json` runs (resume <thread>), each chain with its own
//     CODEX_HOME, at once; each run counts as done when codex exits (codex-exec.ts).
// The runs alternate; the wall time of each is the time until its last turn ended.
import { writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { mockProviderOverrides } from "../../internal/mock-model/codex-provider-overrides.js";
import { textReply } from "../../internal/mock-model/reply-builders.js";
import { lastUserPrompt } from "../../internal/mock-model/request-input.js";
import { startResponsesServer } from "../../internal/mock-model/responses-server.js";
import { streamTurn } from "../../internal/provider/provider-client.js";
import {
  Message_Role,
  ProviderPlugin,
  TurnEnd_Outcome,
} from "../../src/gen/plexum/provider/v1/provider_pb.js";
import type { LaunchedPlugin } from "../../src/host/launch.js";
import { describeCodex, requireCodexUnderTest } from "../../test/helpers/codex-bin.js";
import { launchBenchPlugin } from "./bench-plugin.js";
import { plainCodexExec } from "./codex-exec.js";
import { loadAverage, memoryMiB } from "./proc.js";
import { type BenchRow, report, row, runs } from "./report.js";

const AGENTS = Number(process.env["PLEXUM_BENCH_P4_AGENTS"] ?? "16");
const TURNS = Number(process.env["PLEXUM_BENCH_P4_TURNS"] ?? "5");
const GOAL_RSS_MIB = 200;

const prompt = (agent: number, turn: number) => `agent ${agent} turn ${turn}: answer with your tag`;
const reply = (text: string) => `tag for ${text.split(":")[0] ?? "?"}`;

interface PluginRun {
  seconds: number;
  events: number;
  peakRssMiB: number;
}

async function pluginRun(plugin: LaunchedPlugin, runId: number, workspace: string) {
  const client = plugin.createClient(ProviderPlugin);
  const pid = plugin.process.pid ?? 0;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch {
    // Not resettable: VmHWM is then the peak of the whole process so far.
  }
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, memoryMiB(pid, "VmRSS"))), 100);
  let events = 0;
  const started = performance.now();
  const chain = async (agent: number): Promise<void> => {
    const agentId = `p4-run${runId}-agent${agent}`;
    let thread = "";
    for (let turn = 1; turn <= TURNS; turn += 1) {
      let seq = 0n;
      let ended = false;
      let text = "";
      for await (const event of streamTurn(client, {
        agent: { agentId, workspace },
        conversation: [{ role: Message_Role.USER, text: prompt(agent, turn) }],
      })) {
        if (ended) throw new Error(`${agentId} turn ${turn}: an event after turn_end`);
        if (event.seq !== seq + 1n) throw new Error(`${agentId} turn ${turn}: seq ${event.seq}`);
        seq = event.seq;
        events += 1;
        const body = event.event;
        if (body.case === "text") text = body.value.text;
        if (body.case === "turnStarted") {
          if (turn === 1) thread = body.value.threadId;
          else if (body.value.threadId !== thread) {
            throw new Error(
              `${agentId} turn ${turn}: thread ${body.value.threadId}, not ${thread}`,
            );
          }
        }
        if (body.case === "turnEnd") {
          ended = true;
          if (body.value.outcome !== TurnEnd_Outcome.COMPLETED) {
            throw new Error(`${agentId} turn ${turn}: ${body.value.message}`);
          }
        }
      }
      if (!ended) throw new Error(`${agentId} turn ${turn}: no turn_end`);
      if (text !== reply(prompt(agent, turn))) {
        throw new Error(`${agentId} turn ${turn}: reply "${text}"`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: AGENTS }, (_, agent) => chain(agent)));
  } finally {
    clearInterval(sampler);
    client.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const hwm = memoryMiB(pid, "VmHWM");
  return { seconds, events, peakRssMiB: Number.isFinite(hwm) ? Math.max(hwm, peak) : peak };
}

async function plainRun(codexPath: string, baseUrl: string, root: string, runId: number) {
  const started = performance.now();
  const chain = async (agent: number): Promise<void> => {
    const codexHome = join(root, `plain-run${runId}-agent${agent}`);
    await mkdir(codexHome);
    let thread: string | undefined;
    for (let turn = 1; turn <= TURNS; turn += 1) {
      const run = await plainCodexExec({
        binary: codexPath,
        baseUrl,
        codexHome,
        cwd: join(root, "workspace"),
        prompt: prompt(agent, turn),
        resumeThreadId: thread,
        timeoutMs: 300_000,
      });
      const text = run.finalText;
      if (run.exitCode !== 0 || text !== reply(prompt(agent, turn))) {
        throw new Error(`plain agent ${agent} turn ${turn}: exit ${run.exitCode}, reply "${text}"`);
      }
      thread ??= run.threadId;
    }
  };
  await Promise.all(Array.from({ length: AGENTS }, (_, agent) => chain(agent)));
  return (performance.now() - started) / 1000;
}

async function main(): Promise<void> {
  const codex = requireCodexUnderTest();
  process.stdout.write(`codex under test: ${describeCodex(codex)}\n`);
  const root = await mkdtemp(join(tmpdir(), "plexum-bench-p4-"));
  const workspace = join(root, "workspace");
  const codexHome = join(root, "codex-home");
  await Promise.all([mkdir(workspace), mkdir(codexHome)]);
  const server = await startResponsesServer({
    script: (request) => textReply(reply(lastUserPrompt(request) ?? "")),
  });
  const plugin = await launchBenchPlugin(root);
  const client = plugin.createClient(ProviderPlugin);
  try {
    await client.configure({
      configJson: new TextEncoder().encode(
        JSON.stringify({
          binary: codex.path,
          state_dir: join(root, "state"),
          codex_home: codexHome,
          per_agent_codex_home: true,
          config_overrides: mockProviderOverrides(server.url),
        }),
      ),
    });
    const idleRss = memoryMiB(plugin.process.pid ?? 0, "VmRSS");
    const viaPlugin: PluginRun[] = [];
    const plain: number[] = [];
    const count = runs(3);
    const loadBefore = loadAverage();
    for (let run = 0; run < count; run += 1) {
      viaPlugin.push(await pluginRun(plugin, run, workspace));
      plain.push(await plainRun(codex.path, server.url, root, run));
    }
    const expectedTurns = AGENTS * TURNS;
    const rows: BenchRow[] = [
      row(
        `wall time, ${AGENTS} agents × ${TURNS} turns through the plugin`,
        "s",
        viaPlugin.map((r) => r.seconds),
      ),
      row(`wall time, ${AGENTS} × ${TURNS} plain codex exec runs`, "s", plain),
      row(
        "plugin / plain codex, per run",
        "ratio",
        viaPlugin.map((r, index) => r.seconds / (plain[index] ?? Number.NaN)),
      ),
      row(
        "plugin peak RSS",
        "MiB",
        viaPlugin.map((r) => r.peakRssMiB),
        {
          goal: { op: "<=", value: GOAL_RSS_MIB },
        },
      ),
      row(
        "events delivered per run (all checked)",
        "events",
        viaPlugin.map((r) => r.events),
      ),
    ];
    report({
      id: "P4",
      title: `${AGENTS} agents × ${TURNS} turns in parallel`,
      rows,
      notes: [
        `no event lost: every one of the ${expectedTurns} turns per run had seq 1..n without gaps, ` +
          "one turn_end as its last event, the expected reply and its agent's thread",
        `codex ${describeCodex(codex)}`,
        `plugin RSS idle after Configure: ${idleRss.toFixed(0)} MiB; per_agent_codex_home on; ` +
          `1-minute load average ${loadBefore} before, ${loadAverage()} after`,
      ],
    });
  } finally {
    client.close();
    await plugin.kill();
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
