import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";

import { buildExecArgs } from "../../../../internal/exec/exec-args.js";
import { type McpServerRegistration } from "../../../../internal/mcp/mcp-registration.js";
import { mcpServerOverrides } from "../../../../internal/mcp/mcp-server-overrides.js";

const server: McpServerRegistration = {
  name: "plexum-host-agent-a",
  command: "/opt/plugins/plexum openai/plugin",
  args: ["mcp-host"],
  env: {
    PLEXUM_MCP_SOCKET: "/state/mcp/0123456789abcdef.sock",
    PLEXUM_MCP_AGENT_ID: 'a "quoted" id',
  },
  startupTimeoutSec: 20,
  toolTimeoutSec: 330.5,
};

describe("mcpServerOverrides", () => {
  it("registers a required, auto-approved stdio server with its own env and timeouts", () => {
    expect(mcpServerOverrides(server)).toEqual([
      'mcp_servers.plexum-host-agent-a.command="/opt/plugins/plexum openai/plugin"',
      'mcp_servers.plexum-host-agent-a.args=[ "mcp-host" ]',
      'mcp_servers.plexum-host-agent-a.env.PLEXUM_MCP_SOCKET="/state/mcp/0123456789abcdef.sock"',
      'mcp_servers.plexum-host-agent-a.env.PLEXUM_MCP_AGENT_ID="a \\"quoted\\" id"',
      "mcp_servers.plexum-host-agent-a.enabled=true",
      "mcp_servers.plexum-host-agent-a.required=true",
      'mcp_servers.plexum-host-agent-a.default_tools_approval_mode="approve"',
      "mcp_servers.plexum-host-agent-a.startup_timeout_sec=20",
      "mcp_servers.plexum-host-agent-a.tool_timeout_sec=330.5",
    ]);
  });

  it("renders values codex parses back to exactly what was given", () => {
    const table: Record<string, unknown> = {};
    for (const assignment of mcpServerOverrides(server)) {
      const at = assignment.indexOf("=");
      const key = assignment.slice(0, at).split(".").slice(2).join(".");
      table[key] = parse(`v = ${assignment.slice(at + 1)}`)["v"];
    }
    expect(table["env.PLEXUM_MCP_AGENT_ID"]).toBe('a "quoted" id');
    expect(table["command"]).toBe(server.command);
    expect(table["args"]).toEqual(["mcp-host"]);
  });

  it("refuses names a dotted -c path cannot address", () => {
    expect(() => mcpServerOverrides({ ...server, name: "a.b" })).toThrow(/not a bare TOML key/);
  });

  it("goes after the config overrides and before resume", () => {
    const args = buildExecArgs({
      sandbox: "bypass",
      configOverrides: ["x=1"],
      mcpServers: [server],
      extraArgs: ["--enable", "f"],
      resumeThreadId: "t",
    });
    const first = args.indexOf(
      'mcp_servers.plexum-host-agent-a.command="/opt/plugins/plexum openai/plugin"',
    );
    expect(first).toBeGreaterThan(args.indexOf("x=1"));
    expect(args.indexOf("--enable")).toBeGreaterThan(first);
    expect(args.slice(-3)).toEqual(["resume", "t", "-"]);
  });
});
