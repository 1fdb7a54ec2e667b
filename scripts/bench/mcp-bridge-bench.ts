// Round-trip time the mcp-host bridge adds to one host tool call: codex-side MCP tools/call →
// mcp-host (stdio) → agent socket → plugin → HostToolCall on the RunTurn stream → the host answers
// → the same way back. Everything is the real built plugin over the real go-plugin handshake; only
// codex is replaced (by fake-codex-mcp.mjs, which starts the registered bridge as codex does and
// times the calls with the MCP SDK client). The host's own time per call is measured and
// subtracted. Run with `node scripts/bench-mcp.mjs` after `npm run build`.
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { pino } from "pino";

import { HostToolListener } from "../../internal/mcp/host-tool-listener.js";
import { mockProviderOverrides } from "../../internal/mock-model/codex-provider-overrides.js";
import { PLEXUM_HANDSHAKE } from "../../internal/provider/plugin-identity.js";
import { streamTurn } from "../../internal/provider/provider-client.js";
import {
  Message_Role,
  ProviderPlugin,
  TurnEnd_Outcome,
} from "../../src/gen/plexum/provider/v1/provider_pb.js";
import { launchPlugin } from "../../src/host/launch.js";
import { report, row } from "./report.js";

interface BenchResults {
  server: string;
  startupMs: number;
  tools: string[];
  rtts: { callId: string; ms: number }[];
}

const calls = Number(process.env.PLEXUM_BENCH_CALLS ?? "1000");

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

function fmt(ms: number): string {
  return `${ms.toFixed(3)} ms`;
}

function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, ms) => sum + ms, 0) / sorted.length;
  return (
    `p50 ${fmt(percentile(sorted, 50))}   p90 ${fmt(percentile(sorted, 90))}   ` +
    `p99 ${fmt(percentile(sorted, 99))}   max ${fmt(sorted.at(-1) ?? Number.NaN)}   mean ${fmt(mean)}`
  );
}

// The bridge alone: the MCP client talks to a real mcp-host process whose socket is served by a
// listener in this process that answers at once (no plugin process, no gRPC, no host).
async function benchBridgeOnly(pluginPath: string, root: string): Promise<number[]> {
  const socketPath = join(root, "only", "a.sock");
  const listener: HostToolListener = await HostToolListener.listen({
    socketPath,
    agentId: "bench-agent",
    tools: [{ name: "echo", description: "Echoes", inputSchema: { type: "object" } }],
    hostTimeoutMs: 10_000,
    logger: pino({ level: "silent" }),
    onCall: (call) =>
      listener.answer(call.requestId, {
        text: call.argumentsJson,
        isError: false,
        contentJson: "",
      }),
  });
  const client = new Client({ name: "codex-mcp-client", version: "0.169.0" });
  await client.connect(
    new StdioClientTransport({
      command: pluginPath,
      args: ["mcp-host"],
      env: { PLEXUM_MCP_SOCKET: socketPath, PLEXUM_MCP_AGENT_ID: "bench-agent" },
    }),
  );
  const samples: number[] = [];
  try {
    for (let i = 0; i < 100 + calls; i++) {
      const started = performance.now();
      await client.callTool({ name: "echo", arguments: { i } });
      if (i >= 100) samples.push(performance.now() - started);
    }
  } finally {
    await client.close();
    await listener.close("bench over");
  }
  return samples;
}

async function main(): Promise<void> {
  const pluginPath = resolve("dist/plexum-openai-provider-plugin");
  const root = await mkdtemp(join(tmpdir(), "plexum-bench-mcp-"));
  const workspace = join(root, "workspace");
  const codexHome = join(root, "codex-home");
  await Promise.all([mkdir(workspace), mkdir(codexHome)]);
  const resultsFile = join(root, "results.json");
  const plugin = await launchPlugin({
    path: pluginPath,
    cookieKey: PLEXUM_HANDSHAKE.cookieKey,
    cookieValue: PLEXUM_HANDSHAKE.cookieValue,
    protocolVersions: [1],
    socketDir: root,
    env: {
      PLEXUM_BENCH_RESULTS: resultsFile,
      PLEXUM_BENCH_CALLS: String(calls),
      PLEXUM_LOG_LEVEL: "warn",
    },
    stderr: (line) => process.stderr.write(`${line}\n`),
  });
  const client = plugin.createClient(ProviderPlugin);
  const hostMs = new Map<string, number>();
  try {
    await client.configure({
      configJson: new TextEncoder().encode(
        JSON.stringify({
          binary: resolve("scripts/bench/fake-codex-mcp.mjs"),
          state_dir: join(root, "state"),
          codex_home: codexHome,
          // No model is ever called; this only satisfies the plugin's credentials check.
          config_overrides: mockProviderOverrides("http://127.0.0.1:9/v1"),
        }),
      ),
    });
    let outcome = "";
    for await (const event of streamTurn(
      client,
      {
        agent: { agentId: "bench-agent", workspace },
        conversation: [{ role: Message_Role.USER, text: "benchmark" }],
        tools: [{ name: "echo", description: "Echoes", inputSchemaJson: '{"type":"object"}' }],
      },
      {
        onHostToolCall: (call) => {
          const started = performance.now();
          const answer = { text: call.argumentsJson };
          hostMs.set(call.callId, performance.now() - started);
          return answer;
        },
      },
    )) {
      if (event.event.case === "turnEnd") {
        const end = event.event.value;
        outcome = `${TurnEnd_Outcome[end.outcome]}: ${end.message} ${end.stderrTail}`;
      }
    }
    const text = await readFile(resultsFile, "utf8").catch(() => undefined);
    if (text === undefined) throw new Error(`the benchmark turn produced no results: ${outcome}`);
    const results = JSON.parse(text) as BenchResults;
    const net = results.rtts.map(({ callId, ms }) => ms - (hostMs.get(callId) ?? 0));
    const bridgeOnly = await benchBridgeOnly(pluginPath, root);
    const hostTotal = [...hostMs.values()].reduce((sum, ms) => sum + ms, 0);
    process.stdout.write(
      [
        `mcp-host bridge round trip, ${net.length} sequential tools/call (after warm-up), host time subtracted`,
        `  path: MCP client → mcp-host (stdio) → unix socket → plugin → gRPC RunTurn → host → back`,
        `  ${summary(net)}`,
        `  host's own time: ${fmt(hostTotal / Math.max(1, hostMs.size))} per call on average`,
        `  mcp-host cold start (spawn → MCP initialize done): ${fmt(results.startupMs)}`,
        `  server ${results.server}, tools ${results.tools.join(", ")}; turn ended: ${outcome}`,
        "breakdown: MCP client → mcp-host → unix socket → in-process listener answering at once",
        `  ${summary(bridgeOnly)}`,
        "",
      ].join("\n"),
    );
    const p99 = (samples: number[]) =>
      percentile(
        samples.toSorted((a, b) => a - b),
        99,
      );
    report({
      id: "P5",
      title: "mcp-host bridge round trip (issue 3)",
      rows: [
        row("round trip, host time subtracted (median = p50)", "ms", net, {
          goal: { op: "<=", value: 3 },
        }),
        row("round trip, host time subtracted: p99", "ms", [p99(net)]),
        row("bridge alone, in-process answer (median = p50)", "ms", bridgeOnly),
        row("bridge alone: p99", "ms", [p99(bridgeOnly)]),
        row("mcp-host cold start (spawn → MCP initialize done)", "ms", [results.startupMs]),
      ],
      notes: [
        `${net.length} sequential tools/call after 100 warm-up calls; the full path is MCP ` +
          "client → mcp-host (stdio) → unix socket → plugin → gRPC RunTurn → host → back",
      ],
    });
  } finally {
    client.close();
    await plugin.kill();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
