#!/usr/bin/env node
// A stand-in for codex in the mcp-host benchmark: it speaks just enough `codex exec --json` for the
// plugin to run a turn, starts the MCP servers the plugin registered with `-c mcp_servers.<name>.…`
// exactly as codex would (command, args, env), and times tools/call round trips through the real
// mcp-host bridge with the MCP SDK client. Results go to $PLEXUM_BENCH_RESULTS as JSON.
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { parse } from "smol-toml";

if (process.argv.includes("--version")) {
  process.stdout.write("codex-cli 0.169.0\n");
  process.exit(0);
}

const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);

// -c mcp_servers.<name>.<key…>=<toml literal> → { name: { key: value } }
function registeredServers(argv) {
  const servers = new Map();
  for (let i = 0; i < argv.length - 1; i++) {
    if (argv[i] !== "-c" || !argv[i + 1].startsWith("mcp_servers.")) continue;
    const assignment = argv[i + 1];
    const at = assignment.indexOf("=");
    const [, name, ...path] = assignment.slice(0, at).split(".");
    const value = parse(`v = ${assignment.slice(at + 1)}`).v;
    const server = servers.get(name) ?? { env: {} };
    if (path[0] === "env") server.env[path[1]] = value;
    else server[path.join(".")] = value;
    servers.set(name, server);
  }
  return servers;
}

for await (const _chunk of process.stdin); // the prompt; unused
const calls = Number(process.env.PLEXUM_BENCH_CALLS ?? "1000");
const warmup = Number(process.env.PLEXUM_BENCH_WARMUP ?? "100");
const [[name, server]] = registeredServers(process.argv.slice(2));

emit({ type: "thread.started", thread_id: randomUUID() });
emit({ type: "turn.started" });

const spawnedAt = performance.now();
const transport = new StdioClientTransport({
  command: server.command,
  args: server.args,
  env: server.env,
  stderr: "inherit",
});
const client = new Client({ name: "codex-mcp-client", version: "0.169.0" });
await client.connect(transport);
const startupMs = performance.now() - spawnedAt;
const { tools } = await client.listTools();

const rtts = [];
for (let i = 0; i < warmup + calls; i++) {
  const started = performance.now();
  const result = await client.callTool({
    name: tools[0].name,
    arguments: { i },
    _meta: { callId: `call_bench_${i}` },
  });
  const rtt = performance.now() - started;
  if (result.isError) throw new Error(`call ${i} failed: ${JSON.stringify(result.content)}`);
  if (i >= warmup) rtts.push({ callId: `call_bench_${i}`, ms: rtt });
}
await client.close();

writeFileSync(
  process.env.PLEXUM_BENCH_RESULTS,
  JSON.stringify({ server: name, startupMs, tools: tools.map((t) => t.name), rtts }),
);
emit({ type: "item.completed", item: { id: "item_0", type: "agent_message", text: "bench done" } });
emit({
  type: "turn.completed",
  usage: { input_tokens: 0, cached_input_tokens: 0, output_tokens: 0, reasoning_output_tokens: 0 },
});
