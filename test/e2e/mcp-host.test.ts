// Host tools end to end: the built plugin, the real codex under test and the plugin's own `mcp-host`
// bridge that codex starts. The scripted model calls the host tool the way codex exposes it (a
// function_call in the `mcp__plexum_host_<agent>` namespace); the test's host answers on the
// RunTurn stream, and the model's next request must carry that answer.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { createConnection } from "node:net";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterEach, describe, expect, it } from "vitest";

import { FrameDecoder } from "../../internal/mcp/frame.js";
import { mcpServerName, modelNamespace } from "../../internal/mcp/host-tools.js";
import { agentSocketPath } from "../../internal/mcp/socket-path.js";
import type { MockReply } from "../../internal/mock-model/mock-reply.js";
import type { JsonObject, RecordedRequest } from "../../internal/mock-model/recorded-request.js";
import {
  functionCall,
  hang,
  respond,
  textReply,
} from "../../internal/mock-model/reply-builders.js";
import {
  lastInputItem,
  lastUserPrompt,
  toolOutputFor,
} from "../../internal/mock-model/request-input.js";
import { type HostToolAnswer, streamTurn } from "../../internal/provider/provider-client.js";
import {
  type HostToolCall,
  Message_Role,
  type TurnEnd,
  TurnEnd_Outcome,
  type TurnEvent,
} from "../../src/gen/plexum/provider/v1/provider_pb.js";
import { mcpResultText } from "../helpers/codex-behaviour.js";
import { findCodexBinary } from "../helpers/codex-bin.js";
import { eventsOf, ON_APP_SERVER, PLUGIN_PATH, PluginHarness } from "../helpers/plugin-harness.js";
import { createTempDirs } from "../helpers/temp-dirs.js";

const codex = findCodexBinary();

// An unknown model slug: codex then lists MCP tools in the request's `tools` as a namespace, so the
// test can see exactly which tools each codex run offered (see research codex-cli.md §4.5).
const MODEL = "plexum-mock";

let harness: PluginHarness | undefined;
const tempDirs = createTempDirs();
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  await harness?.close();
  harness = undefined;
  await tempDirs.removeAll();
});

/** What the scripted model does for one prompt: call this host tool, then summarise its output. */
interface ScriptedCall {
  agentId: string;
  tool: string;
  args: Record<string, unknown>;
  callId: string;
  /** What the model does once the tool's output arrives; default: a text reply quoting it. */
  then?: "text" | "hang";
}

// Routes by prompt, so parallel codex runs can share one mock. The model calls the tool first;
// once the last input item is the tool's output it answers with text quoting it.
function toolScript(calls: Record<string, ScriptedCall>) {
  return (request: RecordedRequest): MockReply => {
    const prompt = lastUserPrompt(request) ?? "";
    const call = calls[prompt];
    if (call === undefined) return textReply(`no scripted call for ${JSON.stringify(prompt)}`);
    const last = lastInputItem(request);
    if (last?.["type"] === "function_call_output") {
      if (call.then === "hang") return hang();
      return textReply(`tool said: ${toolOutputFor(request, call.callId)?.output ?? "(nothing)"}`);
    }
    return respond(
      functionCall({
        namespace: modelNamespace(mcpServerName(call.agentId)),
        name: call.tool,
        args: call.args,
        callId: call.callId,
      }),
    );
  };
}

interface ToolTurnInput {
  agentId: string;
  prompt: string;
  tools: { name: string; description: string; schema?: Record<string, unknown> }[];
  onHostToolCall?: (
    call: HostToolCall,
  ) => Promise<HostToolAnswer | undefined> | HostToolAnswer | undefined;
  signal?: AbortSignal;
}

interface ToolTurn {
  events: TurnEvent[];
  end: TurnEnd;
}

async function runToolTurn(h: PluginHarness, input: ToolTurnInput): Promise<ToolTurn> {
  const events: TurnEvent[] = [];
  for await (const event of streamTurn(
    h.client,
    {
      agent: { agentId: input.agentId, workspace: h.workspace },
      model: MODEL,
      conversation: [{ role: Message_Role.USER, text: input.prompt }],
      tools: input.tools.map((tool) => ({
        name: tool.name,
        description: tool.description,
        inputSchemaJson: JSON.stringify(tool.schema ?? { type: "object", properties: {} }),
      })),
    },
    {
      ...(input.signal === undefined ? {} : { signal: input.signal }),
      ...(input.onHostToolCall === undefined ? {} : { onHostToolCall: input.onHostToolCall }),
    },
  )) {
    events.push(event);
  }
  const last = events.at(-1)?.event;
  if (last?.case !== "turnEnd") throw new Error(`no turn_end after ${events.length} events`);
  return { events, end: last.value };
}

function responsesRequests(h: PluginHarness): RecordedRequest[] {
  return (h.server?.requests ?? []).filter(
    (r) => r.method === "POST" && r.path === "/v1/responses",
  );
}

/** The request's namespace tools: namespace name → tool names. */
function namespaceTools(request: RecordedRequest): Map<string, string[]> {
  const tools = request.body?.["tools"];
  const found = new Map<string, string[]>();
  if (!Array.isArray(tools)) return found;
  for (const tool of tools as JsonObject[]) {
    if (tool["type"] !== "namespace") continue;
    const inner = Array.isArray(tool["tools"]) ? (tool["tools"] as JsonObject[]) : [];
    found.set(
      String(tool["name"]),
      inner.map((t) => String(t["name"])),
    );
  }
  return found;
}

function plexumNamespaces(request: RecordedRequest): [string, string[]][] {
  return [...namespaceTools(request)].filter(([name]) => name.startsWith("mcp__plexum_host_"));
}

function expectCompleted(turn: ToolTurn, h: PluginHarness): void {
  expect(
    TurnEnd_Outcome[turn.end.outcome],
    `turn_end: ${turn.end.message}\nstderr tail: ${turn.end.stderrTail}\nplugin log:\n${h.stderrLines.slice(-30).join("\n")}`,
  ).toBe("COMPLETED");
}

function mcpToolEvents(turn: ToolTurn) {
  return eventsOf(turn.events, "tool").flatMap((tool) =>
    tool.tool.case === "mcpToolCall" ? [{ status: tool.status, ...tool.tool.value }] : [],
  );
}

/** Starts `mcp-host` from the built plugin as codex would, with an MCP client on its stdio. */
async function connectBridge(env: Record<string, string>): Promise<Client> {
  const transport = new StdioClientTransport({
    command: PLUGIN_PATH,
    args: ["mcp-host"],
    env,
    stderr: "pipe",
  });
  const client = new Client({ name: "plexum-e2e", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

function resultText(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((block) => block.text ?? "").join("\n");
}

// Processes whose environment names this agent's bridge (the mcp-host codex started).
async function bridgeProcesses(agentId: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = (await readFile(`/proc/${entry}/cmdline`, "utf8")).split("\0");
      if (!argv.includes("mcp-host")) continue;
      const env = (await readFile(`/proc/${entry}/environ`, "utf8")).split("\0");
      if (env.includes(`PLEXUM_MCP_AGENT_ID=${agentId}`)) found.push(Number(entry));
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}

// The parent pid of a process (field 4 of /proc/<pid>/stat, after the parenthesised name).
async function parentOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

// Live `codex app-server` processes of this CODEX_HOME.
async function appServers(codexHome: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = (await readFile(`/proc/${entry}/cmdline`, "utf8")).split("\0");
      if (argv[1] !== "app-server") continue;
      const env = (await readFile(`/proc/${entry}/environ`, "utf8")).split("\0");
      if (env.includes(`CODEX_HOME=${codexHome}`)) found.push(Number(entry));
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}

const LOOKUP_SCHEMA = {
  type: "object",
  properties: { query: { type: "string", description: "What to look up" } },
  required: ["query"],
};

describe.skipIf(!codex.found)("host tools through mcp-host with the real codex", () => {
  it("a host tool call reaches the host and its result is the model's function_call_output", async () => {
    const agentId = "agent-a";
    const h = (harness = await PluginHarness.start({
      script: toolScript({
        "Look up the weather.": {
          agentId,
          tool: "lookup",
          args: { query: "weather in Oslo" },
          callId: "call_lookup_a",
        },
      }),
      config: { supported_models: [MODEL] },
    }));
    const socketPath = agentSocketPath(agentId, { stateDir: h.stateDir });
    let duringCall: { socketMode: number; dirMode: number; isSocket: boolean } | undefined;

    const turn = await runToolTurn(h, {
      agentId,
      prompt: "Look up the weather.",
      tools: [{ name: "lookup", description: "Looks things up", schema: LOOKUP_SCHEMA }],
      onHostToolCall: async (call) => {
        const [socket, dir] = await Promise.all([stat(socketPath), stat(dirname(socketPath))]);
        duringCall = {
          socketMode: socket.mode & 0o777,
          dirMode: dir.mode & 0o777,
          isSocket: socket.isSocket(),
        };
        const { query } = JSON.parse(call.argumentsJson) as { query: string };
        return { text: `Sunny, 21 °C (host answer for "${query}")` };
      },
    });
    expectCompleted(turn, h);

    // The host saw codex's own call id, the tool and the arguments.
    const calls = eventsOf(turn.events, "hostToolCall");
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ callId: "call_lookup_a", toolName: "lookup" });
    expect(calls[0]?.requestId).not.toBe("");
    expect(JSON.parse(calls[0]?.argumentsJson ?? "")).toEqual({ query: "weather in Oslo" });

    // The socket is the one derived from the agent id, 0600 in a 0700 directory, and exists
    // only while the turn runs.
    expect(duringCall).toEqual({ socketMode: 0o600, dirMode: 0o700, isSocket: true });
    expect(existsSync(socketPath)).toBe(false);

    const requests = responsesRequests(h);
    expect(requests).toHaveLength(2);
    // Codex offered exactly the host's tool, with the host's schema, in the agent's namespace.
    expect(plexumNamespaces(requests[0]!)).toEqual([["mcp__plexum_host_agent_a", ["lookup"]]]);
    const offered = (requests[0]!.body?.["tools"] as JsonObject[]).find(
      (tool) => tool["name"] === "mcp__plexum_host_agent_a",
    );
    expect((offered?.["tools"] as JsonObject[])[0]?.["parameters"]).toEqual(LOOKUP_SCHEMA);
    // The next model request carries the host's answer under the model's call id.
    const output = toolOutputFor(requests[1]!, "call_lookup_a");
    expect(output?.type).toBe("function_call_output");
    expect(mcpResultText(output?.output)).toContain(
      'Sunny, 21 °C (host answer for "weather in Oslo")',
    );
    expect(turn.end.finalText).toContain("Sunny, 21 °C");

    // Codex reports the MCP call itself too, against the per-agent server.
    const mcp = mcpToolEvents(turn);
    expect(mcp.at(-1)).toMatchObject({
      server: "plexum-host-agent-a",
      tool: "lookup",
      status: "completed",
    });
  });

  it("a host error is an isError result carrying the host's text", async () => {
    // An id with characters codex's server names and namespaces cannot hold.
    const agentId = "ops team.err@1";
    const h = (harness = await PluginHarness.start({
      script: toolScript({
        "Check the stock.": { agentId, tool: "stock", args: { sku: "A1" }, callId: "call_stock" },
      }),
      config: { supported_models: [MODEL] },
    }));
    const turn = await runToolTurn(h, {
      agentId,
      prompt: "Check the stock.",
      tools: [{ name: "stock", description: "Stock level of a SKU" }],
      onHostToolCall: () => ({ text: "inventory service is down (HTTP 503)", isError: true }),
    });
    expectCompleted(turn, h);
    const output = toolOutputFor(responsesRequests(h)[1]!, "call_stock");
    expect(mcpResultText(output?.output)).toContain("inventory service is down (HTTP 503)");
    const mcp = mcpToolEvents(turn).at(-1);
    expect(mcp).toMatchObject({ server: "plexum-host-ops_team_err_1", tool: "stock" });
    expect(plexumNamespaces(responsesRequests(h)[0]!)).toEqual([
      ["mcp__plexum_host_ops_team_err_1", ["stock"]],
    ]);
    // codex marks the item failed and keeps the host's text.
    expect(mcp?.status).toBe("failed");
    expect(`${mcp?.error ?? ""}${mcp?.resultJson ?? ""}`).toContain("inventory service is down");
  });

  it("a host that never answers gets a timeout error after mcp_host.host_timeout_seconds", async () => {
    const agentId = "agent-slow";
    const h = (harness = await PluginHarness.start({
      script: toolScript({
        "Ask the slow tool.": { agentId, tool: "slow", args: {}, callId: "call_slow" },
      }),
      config: { supported_models: [MODEL], mcp_host: { host_timeout_seconds: 1 } },
    }));
    let calledAt = 0;
    const turn = await runToolTurn(h, {
      agentId,
      prompt: "Ask the slow tool.",
      tools: [{ name: "slow", description: "Never answers" }],
      onHostToolCall: () => {
        calledAt = Date.now();
        return undefined;
      },
    });
    expectCompleted(turn, h);
    const followUp = responsesRequests(h)[1]!;
    const output = toolOutputFor(followUp, "call_slow");
    expect(mcpResultText(output?.output)).toContain('host tool "slow" timed out');
    expect(mcpResultText(output?.output)).toContain("within 1 s (mcp_host.host_timeout_seconds)");
    const waited = followUp.receivedAt - calledAt;
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(10_000);
  });

  it("mcp-host with no listening plugin fails each call within a second, then exits 0", async () => {
    const dir = await tempDirs.make("mcp-nolisten");
    const missing = join(dir, "missing.sock");
    const client = await connectBridge({
      PLEXUM_MCP_SOCKET: missing,
      PLEXUM_MCP_AGENT_ID: "ghost",
    });
    try {
      let started = performance.now();
      const result = await client.callTool({ name: "anything", arguments: {} });
      const elapsed = performance.now() - started;
      expect(result.isError).toBe(true);
      expect(resultText(result)).toContain('no turn of agent "ghost" is running');
      expect(resultText(result)).toContain(missing);
      expect(elapsed).toBeLessThan(1000);

      // tools/list fails as a JSON-RPC error with the same explanation.
      await expect(client.listTools()).rejects.toThrow(/no turn of agent "ghost" is running/);

      // A socket file left by a dead plugin: connection refused, same speed.
      const stale = join(dir, "stale.sock");
      const holder = spawn(
        process.execPath,
        ["-e", `require("node:net").createServer().listen(${JSON.stringify(stale)})`],
        { stdio: "ignore" },
      );
      children.push(holder);
      for (let i = 0; i < 100 && !existsSync(stale); i++) await sleep(20);
      holder.kill("SIGKILL");
      await new Promise((resolve) => holder.once("exit", resolve));
      expect(existsSync(stale)).toBe(true);
      const staleClient = await connectBridge({
        PLEXUM_MCP_SOCKET: stale,
        PLEXUM_MCP_AGENT_ID: "ghost",
      });
      try {
        started = performance.now();
        const refused = await staleClient.callTool({ name: "anything", arguments: {} });
        expect(performance.now() - started).toBeLessThan(1000);
        expect(refused.isError).toBe(true);
        expect(resultText(refused)).toContain(`nothing listens on ${stale}`);
      } finally {
        await staleClient.close();
      }
    } finally {
      await client.close();
    }

    // Closing stdin (what codex does) ends the bridge with exit code 0.
    const bridge = spawn(PLUGIN_PATH, ["mcp-host"], {
      env: { PLEXUM_MCP_SOCKET: missing, PLEXUM_MCP_AGENT_ID: "ghost" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    children.push(bridge);
    let stdout = "";
    bridge.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    await sleep(300);
    const exitStarted = performance.now();
    bridge.stdin.end();
    const code = await new Promise<number | null>((resolve) =>
      bridge.once("exit", (exitCode) => resolve(exitCode)),
    );
    expect(code).toBe(0);
    expect(performance.now() - exitStarted).toBeLessThan(1500);
    expect(stdout).toBe("");
  });

  it("refuses a bridge presenting another agent id and drops malformed frames, without affecting the turn", async () => {
    const agentId = "agent-owner";
    const h = (harness = await PluginHarness.start({
      script: toolScript({
        "Use the tool.": { agentId, tool: "lookup", args: { query: "q" }, callId: "call_owner" },
      }),
      config: { supported_models: [MODEL] },
    }));
    const socketPath = agentSocketPath(agentId, { stateDir: h.stateDir });
    let impostor: { isError: unknown; text: string } | undefined;
    let malformed: { refusal: Record<string, unknown> | undefined; closed: boolean } | undefined;

    const turn = await runToolTurn(h, {
      agentId,
      prompt: "Use the tool.",
      tools: [{ name: "lookup", description: "Looks things up" }],
      onHostToolCall: async () => {
        // While the real call waits: a bridge claiming to serve another agent on this socket.
        const client = await connectBridge({
          PLEXUM_MCP_SOCKET: socketPath,
          PLEXUM_MCP_AGENT_ID: "agent-intruder",
        });
        try {
          const result = await client.callTool({ name: "lookup", arguments: { query: "steal" } });
          impostor = { isError: result.isError, text: resultText(result) };
        } finally {
          await client.close();
        }
        malformed = await sendGarbage(socketPath);
        return { text: "the owner's answer" };
      },
    });
    expectCompleted(turn, h);

    expect(impostor?.isError).toBe(true);
    expect(impostor?.text).toContain("refused this bridge (AGENT_MISMATCH)");
    expect(impostor?.text).toContain(
      'this socket serves agent "agent-owner", not "agent-intruder"',
    );
    expect(malformed?.refusal).toMatchObject({ type: "refused", code: "MALFORMED_FRAME" });
    expect(malformed?.closed).toBe(true);
    // The impostor's call never reached the host, and the real call still got its answer.
    const calls = eventsOf(turn.events, "hostToolCall");
    expect(calls.map((call) => call.callId)).toEqual(["call_owner"]);
    expect(mcpResultText(toolOutputFor(responsesRequests(h)[1]!, "call_owner")?.output)).toContain(
      "the owner's answer",
    );
  });

  it("two agents in parallel each see and call only their own tools", async () => {
    const h = (harness = await PluginHarness.start({
      script: toolScript({
        "Alpha task.": {
          agentId: "alpha",
          tool: "alpha_tool",
          args: { n: 1 },
          callId: "call_alpha",
        },
        "Beta task.": { agentId: "beta", tool: "beta_tool", args: { n: 2 }, callId: "call_beta" },
      }),
      config: { supported_models: [MODEL] },
    }));
    const hostLog: string[] = [];
    // Which process started each agent's bridge: with app-server, the one server of the CODEX_HOME.
    const bridgeParents = new Map<string, number[]>();
    const answerAfter = (agent: string) => async (call: HostToolCall) => {
      hostLog.push(`${agent}:${call.toolName}`);
      const bridges = await bridgeProcesses(agent);
      bridgeParents.set(agent, await Promise.all(bridges.map(parentOf)));
      // Both calls are in flight at the same time.
      await sleep(300);
      return { text: `${agent} result for ${call.toolName}` };
    };
    const [alpha, beta] = await Promise.all([
      runToolTurn(h, {
        agentId: "alpha",
        prompt: "Alpha task.",
        tools: [
          { name: "alpha_tool", description: "Alpha's tool" },
          { name: "shared_name", description: "Alpha's variant" },
        ],
        onHostToolCall: answerAfter("alpha"),
      }),
      runToolTurn(h, {
        agentId: "beta",
        prompt: "Beta task.",
        tools: [
          { name: "beta_tool", description: "Beta's tool" },
          { name: "shared_name", description: "Beta's variant" },
        ],
        onHostToolCall: answerAfter("beta"),
      }),
    ]);
    expectCompleted(alpha, h);
    expectCompleted(beta, h);

    expect(eventsOf(alpha.events, "hostToolCall").map((c) => c.toolName)).toEqual(["alpha_tool"]);
    expect(eventsOf(beta.events, "hostToolCall").map((c) => c.toolName)).toEqual(["beta_tool"]);
    expect(hostLog.sort()).toEqual(["alpha:alpha_tool", "beta:beta_tool"]);

    const requests = responsesRequests(h);
    expect(requests).toHaveLength(4);
    for (const request of requests) {
      const prompt = lastUserPrompt(request);
      const expected =
        prompt === "Alpha task."
          ? [["mcp__plexum_host_alpha", ["alpha_tool", "shared_name"]]]
          : [["mcp__plexum_host_beta", ["beta_tool", "shared_name"]]];
      expect(plexumNamespaces(request), `tools offered for ${prompt}`).toEqual(expected);
    }
    const followUps = requests.filter((r) => lastInputItem(r)?.["type"] === "function_call_output");
    const outputs = followUps.map(
      (r) => toolOutputFor(r, "call_alpha")?.output ?? toolOutputFor(r, "call_beta")?.output ?? "",
    );
    expect(outputs.some((o) => o.includes("alpha result for alpha_tool"))).toBe(true);
    expect(outputs.some((o) => o.includes("beta result for beta_tool"))).toBe(true);
    expect(outputs.every((o) => !(o.includes("alpha") && o.includes("beta")))).toBe(true);

    if (ON_APP_SERVER) {
      // One server for the CODEX_HOME: each thread carries its own agent's bridge (thread config),
      // so the bridges are not part of the server's key.
      const servers = await appServers(h.codexHome);
      expect(servers).toHaveLength(1);
      expect(bridgeParents.get("alpha")).toEqual(servers);
      expect(bridgeParents.get("beta")).toEqual(servers);
    }
  });

  it("cancelling the turn while a host call is pending answers the bridge, which then exits", async () => {
    const agentId = "agent-cancel";
    const h = (harness = await PluginHarness.start({
      script: toolScript({
        // The model hangs after the tool output, so only the cancel can end the turn.
        "Wait on the host.": {
          agentId,
          tool: "wait",
          args: {},
          callId: "call_wait",
          then: "hang",
        },
      }),
      config: { supported_models: [MODEL] },
    }));
    const controller = new AbortController();
    let bridgesDuringCall: number[] = [];
    let cancelledAt = 0;
    const turn = await runToolTurn(h, {
      agentId,
      prompt: "Wait on the host.",
      tools: [{ name: "wait", description: "Waits for the host" }],
      signal: controller.signal,
      onHostToolCall: async () => {
        bridgesDuringCall = await bridgeProcesses(agentId);
        cancelledAt = performance.now();
        controller.abort();
        return undefined;
      },
    });
    expect(TurnEnd_Outcome[turn.end.outcome]).toBe("CANCELLED");
    expect(performance.now() - cancelledAt).toBeLessThan(15_000);
    expect(bridgesDuringCall.length).toBeGreaterThanOrEqual(1);

    // The plugin answered the pending call with the cancellation instead of leaving it hanging.
    // (Whether codex still records that answer before SIGINT stops it is a race, not asserted.)
    const answered = h.stderrLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((record) => record["@message"] === "host tool call answered");
    expect(answered).toMatchObject({ tool: "wait", is_error: true });

    // The bridge codex started is gone, and so is the socket.
    for (let i = 0; i < 50 && (await bridgeProcesses(agentId)).length > 0; i++) await sleep(100);
    expect(await bridgeProcesses(agentId)).toEqual([]);
    expect(existsSync(agentSocketPath(agentId, { stateDir: h.stateDir }))).toBe(false);
  });
});

// Connects to the socket, sends bytes that are not a frame, and reports what came back.
async function sendGarbage(
  socketPath: string,
): Promise<{ refusal: Record<string, unknown> | undefined; closed: boolean }> {
  const socket = createConnection(socketPath);
  const decoder = new FrameDecoder();
  let refusal: Record<string, unknown> | undefined;
  socket.on("data", (chunk: Buffer) => {
    refusal ??= decoder.push(chunk)[0];
  });
  await new Promise((resolve) => socket.once("connect", resolve));
  // A header announcing 0x7b7b7b7b bytes: over the frame limit.
  socket.write("{{{{ this is not a frame }}}}");
  const closed = await Promise.race([
    new Promise<boolean>((resolve) => socket.once("close", () => resolve(true))),
    sleep(3000).then(() => false),
  ]);
  socket.destroy();
  return { refusal, closed };
}
