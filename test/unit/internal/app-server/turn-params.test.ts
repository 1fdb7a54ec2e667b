// The host-tool bridge goes to the thread (thread/start, thread/resume `config`), as the same dotted
// keys exec gets as `-c`, so codex builds the same MCP server config from it.
import { describe, expect, it } from "vitest";

import {
  threadConfigKey,
  threadResumeParams,
  threadStartParams,
} from "../../../../internal/app-server/turn-params.js";
import type { McpServerRegistration } from "../../../../internal/mcp/mcp-registration.js";
import { mcpServerOverrides } from "../../../../internal/mcp/mcp-server-overrides.js";
import type { CodexRun } from "../../../../internal/turn/codex-backend.js";
import { silentLogger } from "../../../helpers/fake-codex.js";

const server: McpServerRegistration = {
  name: "plexum_host_agent_a",
  command: "/opt/plugin",
  args: ["mcp-host"],
  env: { PLEXUM_MCP_SOCKET: "/state/mcp/a.sock", PLEXUM_MCP_AGENT_ID: "agent-a" },
  startupTimeoutSec: 20,
  toolTimeoutSec: 330.5,
};

function run(mcpServers: readonly McpServerRegistration[]): CodexRun {
  return {
    agentId: "agent-a",
    codex: { path: "/bin/codex", features: ["app_server_turns"] },
    prompt: "p",
    cwd: "/ws",
    codexHome: undefined,
    sqliteHome: undefined,
    sandbox: "workspace-write",
    writableDirs: [],
    networkAccess: undefined,
    cliModel: undefined,
    configOverrides: ['model_reasoning_effort="low"'],
    images: [],
    outputSchemaPath: undefined,
    resumeThreadId: undefined,
    mcpServers,
    env: { set: {}, unset: [] },
    logger: silentLogger,
  };
}

const bridgeConfig = {
  "mcp_servers.plexum_host_agent_a.command": "/opt/plugin",
  "mcp_servers.plexum_host_agent_a.args": ["mcp-host"],
  "mcp_servers.plexum_host_agent_a.env.PLEXUM_MCP_SOCKET": "/state/mcp/a.sock",
  "mcp_servers.plexum_host_agent_a.env.PLEXUM_MCP_AGENT_ID": "agent-a",
  "mcp_servers.plexum_host_agent_a.enabled": true,
  "mcp_servers.plexum_host_agent_a.required": true,
  "mcp_servers.plexum_host_agent_a.default_tools_approval_mode": "approve",
  "mcp_servers.plexum_host_agent_a.startup_timeout_sec": 20,
  "mcp_servers.plexum_host_agent_a.tool_timeout_sec": 330.5,
};

describe("thread params", () => {
  it("carry the run's bridge as the thread's config, on start and on resume", () => {
    expect(threadStartParams(run([server])).config).toEqual(bridgeConfig);
    expect(threadResumeParams(run([server]), "t").config).toEqual(bridgeConfig);
  });

  it("use the same keys exec gets as -c", () => {
    const keys = mcpServerOverrides(server).map((o) => o.slice(0, o.indexOf("=")));
    expect(Object.keys(threadStartParams(run([server])).config ?? {})).toEqual(keys);
  });

  it("have no config without host tools (nothing else goes per thread)", () => {
    expect(threadStartParams(run([]))).not.toHaveProperty("config");
    expect(threadResumeParams(run([]), "t")).not.toHaveProperty("config");
  });

  it("tell loaded threads apart by their bridge", () => {
    const other = { ...server, name: "plexum_host_agent_b" };
    expect(threadConfigKey(run([server]))).toBe(threadConfigKey(run([server])));
    expect(threadConfigKey(run([server]))).not.toBe(threadConfigKey(run([other])));
    expect(threadConfigKey(run([server]))).not.toBe(threadConfigKey(run([])));
  });
});
