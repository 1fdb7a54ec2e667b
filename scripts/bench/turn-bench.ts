// P2: what the plugin adds to a turn. The same prompt against the same scripted mock model
// (internal/mock-model, one text reply per request), with the same native codex binary (CODEX_BIN,
// else the pinned one), three ways, each round in a rotating order:
//   - through the built plugin, launched once: from the RunTurn call to the turn_end event;
//   - plain `codex exec --json` spawned directly: from spawn to codex's exit (codex-exec.ts; the
//     plugin's turn_end also waits for codex to exit);
//   - @openai/codex-sdk driving the same binary: thread.run() from call to resolution.
//   - through the built plugin with backend "app-server" (a second plugin instance): its warm
//     codex app-server runs each turn, so no codex starts per turn (goal: ≤ 0.5× plain exec).
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
// The app-server backend's goal against plain exec on an instantly answering mock (issue 14).
const APP_SERVER_GOAL_RATIO = 0.5;
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
  await mkdir(join(root, "as"));
  const asPlugin = await launchBenchPlugin(join(root, "as"));
  const asClient = asPlugin.createClient(ProviderPlugin);
  const asHome = join(root, "home-app-server");
  await mkdir(asHome);
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

    await asClient.configure({
      configJson: new TextEncoder().encode(
        JSON.stringify({
          backend: "app-server",
          binary: codex.path,
          state_dir: join(root, "state-app-server"),
          codex_home: asHome,
          config_overrides: overrides,
        }),
      ),
    });

    let turnNumber = 0;
    const viaPlugin =
      (target = client) =>
      async (): Promise<number> => {
        turnNumber += 1;
        const started = performance.now();
        let outcome: TurnEnd_Outcome | undefined;
        let text = "";
        for await (const event of streamTurn(target, {
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

    const viaExecPlugin = viaPlugin(client);
    const viaAppServer = viaPlugin(asClient);
    // One warm-up turn each: the first codex start pays for cold caches (and starts the server).
    await viaExecPlugin();
    await viaAppServer();
    await plain();
    await viaSdk();

    const measure = async (rounds: number) => {
      const variants = [
        { run: viaExecPlugin, ms: [] as number[] },
        { run: plain, ms: [] as number[] },
        { run: viaSdk, ms: [] as number[] },
        { run: viaAppServer, ms: [] as number[] },
      ];
      for (let round = 0; round < rounds; round += 1) {
        for (let i = 0; i < variants.length; i += 1) {
          const variant = variants[(round + i) % variants.length];
          variant?.ms.push(await variant.run());
        }
      }
      return variants.map((v) => v.ms) as [number[], number[], number[], number[]];
    };
    const paired = (a: number[], b: number[]) => a.map((value, index) => value / (b[index] ?? NaN));

    const rounds = runs(12);
    const loadBefore = loadAverage();
    const [viaPluginMs, plainMs, sdkMs, appServerMs] = await measure(rounds);
    modelDelayMs = SLOW_MODEL_MS;
    const slowRounds = Math.max(3, Math.round(rounds / 2));
    const [slowPluginMs, slowPlainMs, , slowAppServerMs] = await measure(slowRounds);
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
      row("backend app-server: turn through the plugin (RunTurn → turn_end)", "ms", appServerMs),
      row("backend app-server / plain codex, per round", "ratio", paired(appServerMs, plainMs)),
      row(
        "backend app-server / plain codex, ratio of medians",
        "ratio",
        [median(appServerMs) / median(plainMs)],
        { goal: { op: "<=", value: APP_SERVER_GOAL_RATIO } },
      ),
      row("backend app-server / backend exec, ratio of medians", "ratio", [
        median(appServerMs) / median(viaPluginMs),
      ]),
      row(
        `model answering after ${SLOW_MODEL_MS} ms: plugin / plain, per round`,
        "ratio",
        paired(slowPluginMs, slowPlainMs),
      ),
      row(`model answering after ${SLOW_MODEL_MS} ms: plugin − plain, medians`, "ms", [
        median(slowPluginMs) - median(slowPlainMs),
      ]),
      row(`model answering after ${SLOW_MODEL_MS} ms: app-server − plain, medians`, "ms", [
        median(slowAppServerMs) - median(slowPlainMs),
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
    asClient.close();
    await plugin.kill();
    await asPlugin.kill();
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
