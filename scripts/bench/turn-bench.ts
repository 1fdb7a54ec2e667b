// P2: what the plugin adds to a turn. The same prompt against the same scripted mock model
// (internal/mock-model, one text reply per request), with the same native codex binary (CODEX_BIN,
// else the pinned one), three ways, each round in a rotating order:
//   - through the built plugin, launched once: from the RunTurn call to the turn_end event;
//   - plain `codex exec --json` spawned directly: from spawn to codex's exit (codex-exec.ts; the
//     plugin's turn_end also waits for codex to exit);
//   - @openai/codex-sdk driving the same binary: thread.run() from call to resolution.
// Every turn starts a new thread, so each is the same work. The ratios are of medians and, per
// round, of the paired runs.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Codex, type CodexOptions } from "@openai/codex-sdk";

import { mockProviderOverrides } from "../../internal/mock-model/codex-provider-overrides.js";
import { textReply } from "../../internal/mock-model/reply-builders.js";
import { startResponsesServer } from "../../internal/mock-model/responses-server.js";
import { streamTurn } from "../../internal/provider/provider-client.js";
import {
  Message_Role,
  ProviderPlugin,
  TurnEnd_Outcome,
} from "../../src/gen/plexum/provider/v1/provider_pb.js";
import { describeCodex, requireCodexUnderTest } from "../../test/helpers/codex-bin.js";
import { launchBenchPlugin } from "./bench-plugin.js";
import { plainCodexExec } from "./codex-exec.js";
import { loadAverage } from "./proc.js";
import { type BenchRow, report, row, runs } from "./report.js";

const PROMPT = "Say hello to the benchmark.";
const REPLY = "Hello, benchmark. Nothing to do here.";
const GOAL_RATIO = 1.03;
// A second, shorter phase with the mock answering after this long, as a real model would: the
// plugin's cost per turn is fixed, so its share shrinks as turns get longer.
const SLOW_MODEL_MS = 2000;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return sorted.length % 2 === 1
    ? (sorted[Math.floor(middle)] ?? Number.NaN)
    : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

async function main(): Promise<void> {
  const codex = requireCodexUnderTest();
  process.stdout.write(`codex under test: ${describeCodex(codex)}\n`);
  const root = await mkdtemp(join(tmpdir(), "plexum-bench-p2-"));
  const dirs = {
    workspace: join(root, "workspace"),
    pluginHome: join(root, "home-plugin"),
    plainHome: join(root, "home-plain"),
    sdkHome: join(root, "home-sdk"),
  };
  await Promise.all(Object.values(dirs).map((dir) => mkdir(dir)));
  // The mock answers at once; the second phase makes it wait like a real model does.
  let modelDelayMs = 0;
  const server = await startResponsesServer({
    script: () => textReply(REPLY, modelDelayMs === 0 ? {} : { delayMs: modelDelayMs }),
  });
  const overrides = mockProviderOverrides(server.url);
  const plugin = await launchBenchPlugin(root);
  const client = plugin.createClient(ProviderPlugin);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/API_KEY|ACCESS_TOKEN|^OPENAI_|^PLUGIN_/.test(key))
      env[key] = value;
  }
  const sdk = new Codex({
    codexPathOverride: codex.path,
    // The same nested overrides; the SDK renders them as --config flags like the plugin does.
    config: overrides as unknown as NonNullable<CodexOptions["config"]>,
    env: { ...env, CODEX_HOME: dirs.sdkHome },
  });

  try {
    await client.configure({
      configJson: new TextEncoder().encode(
        JSON.stringify({
          binary: codex.path,
          state_dir: join(root, "state"),
          codex_home: dirs.pluginHome,
          config_overrides: overrides,
        }),
      ),
    });

    let turnNumber = 0;
    const viaPlugin = async (): Promise<number> => {
      turnNumber += 1;
      const started = performance.now();
      let outcome: TurnEnd_Outcome | undefined;
      let text = "";
      for await (const event of streamTurn(client, {
        agent: { agentId: `p2-${turnNumber}`, workspace: dirs.workspace },
        conversation: [{ role: Message_Role.USER, text: PROMPT }],
      })) {
        if (event.event.case === "text") text = event.event.value.text;
        if (event.event.case === "turnEnd") {
          outcome = event.event.value.outcome;
          if (outcome !== TurnEnd_Outcome.COMPLETED) {
            throw new Error(
              `plugin turn ${TurnEnd_Outcome[outcome]}: ${event.event.value.message}`,
            );
          }
        }
      }
      const ms = performance.now() - started;
      if (outcome === undefined || text !== REPLY) throw new Error(`plugin turn: got "${text}"`);
      return ms;
    };
    const plain = async (): Promise<number> => {
      const run = await plainCodexExec({
        binary: codex.path,
        baseUrl: server.url,
        codexHome: dirs.plainHome,
        cwd: dirs.workspace,
        prompt: PROMPT,
      });
      if (run.exitCode !== 0 || !run.completed || run.finalText !== REPLY) {
        throw new Error(`plain codex exited ${run.exitCode}: ${run.stderr.slice(-2000)}`);
      }
      return run.durationMs;
    };
    const viaSdk = async (): Promise<number> => {
      const thread = sdk.startThread({
        workingDirectory: dirs.workspace,
        skipGitRepoCheck: true,
        sandboxMode: "danger-full-access",
        approvalPolicy: "never",
      });
      const started = performance.now();
      const turn = await thread.run(PROMPT);
      const ms = performance.now() - started;
      if (turn.finalResponse !== REPLY) throw new Error(`SDK turn: got "${turn.finalResponse}"`);
      return ms;
    };

    // One warm-up turn each: the first codex start pays for cold caches.
    await viaPlugin();
    await plain();
    await viaSdk();

    const measure = async (rounds: number) => {
      const variants = [
        { run: viaPlugin, ms: [] as number[] },
        { run: plain, ms: [] as number[] },
        { run: viaSdk, ms: [] as number[] },
      ];
      for (let round = 0; round < rounds; round += 1) {
        for (let i = 0; i < variants.length; i += 1) {
          const variant = variants[(round + i) % variants.length];
          variant?.ms.push(await variant.run());
        }
      }
      return variants.map((v) => v.ms) as [number[], number[], number[]];
    };
    const paired = (a: number[], b: number[]) => a.map((value, index) => value / (b[index] ?? NaN));

    const rounds = runs(12);
    const loadBefore = loadAverage();
    const [viaPluginMs, plainMs, sdkMs] = await measure(rounds);
    modelDelayMs = SLOW_MODEL_MS;
    const slowRounds = Math.max(3, Math.round(rounds / 2));
    const [slowPluginMs, slowPlainMs] = await measure(slowRounds);
    const ratioOfMedians = median(viaPluginMs) / median(plainMs);
    const rows: BenchRow[] = [
      row("turn through the plugin (RunTurn → turn_end)", "ms", viaPluginMs),
      row("plain codex exec --json (spawn → exit)", "ms", plainMs),
      row("@openai/codex-sdk thread.run()", "ms", sdkMs),
      row("plugin / plain codex, per round", "ratio", paired(viaPluginMs, plainMs)),
      row("plugin / plain codex, ratio of medians", "ratio", [ratioOfMedians], {
        goal: { op: "<=", value: GOAL_RATIO },
      }),
      row("plugin / codex-sdk, per round", "ratio", paired(viaPluginMs, sdkMs)),
      row("plugin / codex-sdk, ratio of medians", "ratio", [median(viaPluginMs) / median(sdkMs)]),
      row("plugin − plain codex, difference of medians", "ms", [
        median(viaPluginMs) - median(plainMs),
      ]),
      row(
        `model answering after ${SLOW_MODEL_MS} ms: plugin / plain, per round`,
        "ratio",
        paired(slowPluginMs, slowPlainMs),
      ),
      row(`model answering after ${SLOW_MODEL_MS} ms: plugin − plain, medians`, "ms", [
        median(slowPluginMs) - median(slowPlainMs),
      ]),
    ];
    report({
      id: "P2",
      title: "turn overhead against plain codex exec and @openai/codex-sdk",
      rows,
      notes: [
        `${rounds} rounds after one warm-up turn each, variants in rotating order; every turn a new ` +
          `thread, one mock model request answered at once with one message; then ${slowRounds} ` +
          `rounds with the answer after ${SLOW_MODEL_MS} ms; 1-minute load average ` +
          `${loadBefore} before, ${loadAverage()} after`,
        `codex ${describeCodex(codex)}; @openai/codex-sdk 0.163.0 with codexPathOverride (the same binary)`,
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
