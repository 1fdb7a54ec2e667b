// P7: how soon a host sees text. A mock model streams one delta every 50 ms (internal/mock-model's
// deltaIntervalMs) and records when it wrote the first one; the built plugin with backend
// "app-server" (warm) runs the turn. Measured: RunTurn → the first text_delta at the host, and the
// mock writing its first token → the host receiving it (goal: within 30 ms). For comparison, the
// same turns with backend "exec": RunTurn → the first text the host sees (the whole message).
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

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
import { loadAverage } from "./proc.js";
import { report, row, runs } from "./report.js";

const TOKEN_MS = 50;
// 10 deltas of 24 characters: the message completes ~0.5 s after its first token.
const REPLY =
  "A streamed answer, written token by token, so a person reads along as the model writes. "
    .repeat(3)
    .slice(0, 240);
const GOAL_MS = 30;

const now = (): number => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const codex = requireCodexUnderTest();
  const root = await mkdtemp(join(tmpdir(), "plexum-bench-p7-"));
  const server = await startResponsesServer({
    script: () => ({ ...textReply(REPLY), deltaIntervalMs: TOKEN_MS }),
  });
  const overrides = mockProviderOverrides(server.url);
  const plugins = await Promise.all(
    (["app-server", "exec"] as const).map(async (backend) => {
      const dir = join(root, backend);
      await mkdir(join(dir, "home"), { recursive: true });
      const plugin = await launchBenchPlugin(dir);
      const client = plugin.createClient(ProviderPlugin);
      await client.configure({
        configJson: new TextEncoder().encode(
          JSON.stringify({
            backend,
            binary: codex.path,
            state_dir: join(dir, "state"),
            codex_home: join(dir, "home"),
            config_overrides: overrides,
          }),
        ),
      });
      return { backend, plugin, client };
    }),
  );
  let turnNumber = 0;
  // One turn: when RunTurn was called, when the first text_delta and the first text arrived.
  const turn = async (client: (typeof plugins)[number]["client"]) => {
    turnNumber += 1;
    const sentBefore = server.firstTextDeltaSentAt.length;
    const started = now();
    let firstDelta: number | undefined;
    let firstText: number | undefined;
    for await (const event of streamTurn(client, {
      agent: { agentId: `p7-${turnNumber}`, workspace: root },
      conversation: [{ role: Message_Role.USER, text: "write slowly" }],
    })) {
      if (event.event.case === "textDelta") firstDelta ??= now();
      if (event.event.case === "text") firstText ??= now();
      if (
        event.event.case === "turnEnd" &&
        event.event.value.outcome !== TurnEnd_Outcome.COMPLETED
      ) {
        throw new Error(
          `turn ${TurnEnd_Outcome[event.event.value.outcome]}: ${event.event.value.message}`,
        );
      }
    }
    const mockSent = server.firstTextDeltaSentAt[sentBefore];
    return { started, firstDelta, firstText, mockSent };
  };
  try {
    const [appServer, exec] = plugins as [(typeof plugins)[0], (typeof plugins)[0]];
    await turn(appServer.client);
    await turn(exec.client);
    const rounds = runs(10);
    const loadBefore = loadAverage();
    const toDelta: number[] = [];
    const tokenToHost: number[] = [];
    const deltaBeforeText: number[] = [];
    const execToText: number[] = [];
    for (let round = 0; round < rounds; round += 1) {
      const a = await turn(appServer.client);
      if (a.firstDelta === undefined || a.mockSent === undefined || a.firstText === undefined) {
        throw new Error("app-server turn without a text_delta");
      }
      toDelta.push(a.firstDelta - a.started);
      tokenToHost.push(a.firstDelta - a.mockSent);
      deltaBeforeText.push(a.firstText - a.firstDelta);
      const e = await turn(exec.client);
      if (e.firstText === undefined) throw new Error("exec turn without text");
      execToText.push(e.firstText - e.started);
    }
    report({
      id: "P7",
      title: "RunTurn → first text_delta, a mock streaming one token per 50 ms",
      rows: [
        row("backend app-server: RunTurn → first text_delta", "ms", toDelta),
        row("backend app-server: mock wrote first token → host got it", "ms", tokenToHost, {
          goal: { op: "<=", value: GOAL_MS },
        }),
        row("backend app-server: first text_delta → whole text", "ms", deltaBeforeText),
        row("backend exec: RunTurn → first text (the whole message)", "ms", execToText),
      ],
      notes: [
        `${rounds} rounds after a warm-up turn each (app-server warm); a new thread per turn; ` +
          `${REPLY.length} characters in deltas of 24, ${TOKEN_MS} ms apart; 1-minute load ` +
          `average ${loadBefore} before, ${loadAverage()} after`,
        `codex ${describeCodex(codex)}`,
      ],
    });
  } finally {
    for (const { client, plugin } of plugins) {
      client.close();
      await plugin.kill();
    }
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
