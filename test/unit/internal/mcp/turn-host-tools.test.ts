import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { afterEach, describe, expect, it } from "vitest";

import type { ResolvedMcpHost } from "../../../../internal/config/load-config.js";
import type { CanonicalEvent, EventBatch } from "../../../../internal/core/canonical-event.js";
import { PluginSocketClient } from "../../../../internal/mcp/socket-client.js";
import { agentSocketPath } from "../../../../internal/mcp/socket-path.js";
import {
  TurnHostTools,
  type TurnHostToolsOptions,
} from "../../../../internal/mcp/turn-host-tools.js";
import { SideEvents } from "../../../../internal/turn/side-events.js";
import { silentLogger } from "../../../helpers/fake-codex.js";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const MCP_HOST: ResolvedMcpHost = {
  command: undefined,
  socketDir: undefined,
  startupTimeoutMs: 20_000,
  toolTimeoutMs: 330_000,
  hostTimeoutMs: 5000,
};

async function open(overrides: Partial<TurnHostToolsOptions> = {}): Promise<{
  tools: TurnHostTools;
  stateDir: string;
  controller: AbortController;
  side: SideEvents;
}> {
  const stateDir = await mkdtemp(join(tmpdir(), "plexum-turn-tools-"));
  cleanups.push(() => rm(stateDir, { recursive: true, force: true }));
  const controller = new AbortController();
  const side = new SideEvents();
  const tools = await TurnHostTools.open({
    agentId: "agent-a",
    tools: [{ name: "lookup", description: "", inputSchema: { type: "object" } }],
    stateDir,
    mcpHost: MCP_HOST,
    selfCommand: "/opt/plugin/plexum-openai-provider-plugin",
    signal: controller.signal,
    emit: (event) => side.push(event),
    logger: silentLogger,
    env: {},
    ...overrides,
  });
  cleanups.push(() => tools.close("test over"));
  return { tools, stateDir, controller, side };
}

function bridgeClient(stateDir: string): PluginSocketClient {
  const client = new PluginSocketClient({
    socketPath: agentSocketPath("agent-a", { stateDir }),
    agentId: "agent-a",
    logger: silentLogger,
  });
  cleanups.push(async () => client.close());
  return client;
}

// A turn whose events the test releases one at a time.
// The runner's batches: whatever was emitted since the last one.
function controlledTurn(): {
  events: AsyncGenerator<EventBatch>;
  emit: (e: CanonicalEvent) => void;
} {
  const queue: CanonicalEvent[] = [];
  let wake: (() => void) | undefined;
  async function* events(): AsyncGenerator<EventBatch> {
    for (;;) {
      while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      const batch = queue.splice(0);
      yield batch;
      if (batch.at(-1)?.kind === "turn_end") return;
    }
  }
  return {
    events: events(),
    emit: (event) => {
      queue.push(event);
      wake?.();
    },
  };
}

const turnEnd: CanonicalEvent = {
  kind: "turn_end",
  outcome: "completed",
  message: "turn completed",
  threadId: "t",
  finalText: "",
  stderrTail: "",
  durationMs: 1,
};

describe("TurnHostTools", () => {
  it("registers the plugin's own path as `mcp-host` with the socket and agent in its env", async () => {
    const { tools, stateDir } = await open({ env: { PLEXUM_MCP_LOG_LEVEL: "debug" } });
    expect(tools.registration).toEqual({
      name: "plexum-host-agent-a",
      command: "/opt/plugin/plexum-openai-provider-plugin",
      args: ["mcp-host"],
      env: {
        PLEXUM_MCP_SOCKET: agentSocketPath("agent-a", { stateDir }),
        PLEXUM_MCP_AGENT_ID: "agent-a",
        PLEXUM_MCP_LOG_LEVEL: "debug",
        // The bridge runs on the plugin's own node, whatever codex leaves of PATH.
        PLEXUM_NODE_PATH: process.execPath,
      },
      startupTimeoutSec: 20,
      toolTimeoutSec: 330,
    });
  });

  it("prefers mcp_host.command, and fails clearly without any command", async () => {
    const { tools } = await open({ mcpHost: { ...MCP_HOST, command: "/usr/local/bin/p" } });
    expect(tools.registration.command).toBe("/usr/local/bin/p");
    await expect(open({ selfCommand: undefined })).rejects.toMatchObject({
      code: "NOT_CONFIGURED",
      message: expect.stringContaining("set mcp_host.command"),
    });
  });

  it("hands host calls to the turn's events, which close the socket before turn_end", async () => {
    const { tools, stateDir, side } = await open();
    const turn = controlledTurn();
    const seen: CanonicalEvent[] = [];
    const consumed = (async () => {
      const merged = side.merge(turn.events, () => void tools.close("the turn ended"));
      for await (const batch of merged) seen.push(...batch);
    })();

    turn.emit({ kind: "text", itemId: "item_0", text: "calling" });
    const client = bridgeClient(stateDir);
    const result = client.callTool("lookup", { q: 1 }, "call_1");
    while (!seen.some((e) => e.kind === "host_tool_call")) await sleep(5);
    const call = seen.find((e) => e.kind === "host_tool_call");
    expect(call).toMatchObject({ callId: "call_1", toolName: "lookup", argumentsJson: '{"q":1}' });
    tools.answer((call as { requestId: string }).requestId, {
      text: "ok",
      isError: false,
      contentJson: "",
    });
    await expect(result).resolves.toEqual({
      content: [{ type: "text", text: "ok" }],
      isError: false,
    });

    // An answer nobody waits for is reported as such (the engine tells the host, with a notice).
    expect(tools.answer("no-such-request", { text: "late", isError: false, contentJson: "" })).toBe(
      "unknown_request",
    );

    turn.emit(turnEnd);
    await consumed;
    expect(seen.map((e) => e.kind)).toEqual(["text", "host_tool_call", "turn_end"]);
    expect(existsSync(agentSocketPath("agent-a", { stateDir }))).toBe(false);
  });

  it("answers a pending call as soon as the turn is cancelled", async () => {
    const { tools, stateDir, controller, side } = await open();
    const turn = controlledTurn();
    const consumed = (async () => {
      for await (const _event of side.merge(turn.events, () => void tools.close("ended")));
    })();
    const result = bridgeClient(stateDir).callTool("lookup", {}, undefined);
    await sleep(50);
    controller.abort({ message: "cancelled by the host (RunTurn cancel)" });
    await expect(result).resolves.toEqual({
      content: [
        {
          type: "text",
          text:
            'host tool "lookup" got no result; the turn was cancelled: cancelled by the host ' +
            "(RunTurn cancel). Do not retry it in this turn.",
        },
      ],
      isError: true,
    });
    turn.emit(turnEnd);
    await consumed;
  });
});
