// A stdio MCP server registered for one codex run through `mcp_servers.<name>.…` overrides (exec's
// `-c`, app-server's per-thread `config`), so nothing is written to the operator's config.toml and
// each run sees only its own agent's server.
// Keys per codex-rs/config/src/mcp_types.rs (0.169.0); see research codex-cli.md §4.2–4.4.
import { renderTomlLiteral } from "../config/config-overrides.js";
import type { McpServerRegistration } from "./mcp-registration.js";

const BARE_KEY = /^[A-Za-z0-9_-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** One setting of a server: its dotted key path under `mcp_servers`, and its plain JSON value. */
export type McpServerSetting = [key: string, value: string | number | boolean | string[]];

/**
 * The settings that define `server`, as dotted key paths (`mcp_servers.<name>.command`, …):
 * - `required = true`: a bridge that fails to start fails the run loudly, instead of its tools
 *   silently missing (a non-required server that fails produces no event at all in exec);
 * - `default_tools_approval_mode = "approve"`: exec's approval policy is `never`, so with the
 *   default mode every unannotated tool call fails with "requires approval".
 */
export function mcpServerSettings(server: McpServerRegistration): McpServerSetting[] {
  if (!BARE_KEY.test(server.name)) {
    throw new Error(`MCP server name ${JSON.stringify(server.name)} is not a bare TOML key`);
  }
  const prefix = `mcp_servers.${server.name}`;
  const entries: McpServerSetting[] = [
    ["command", server.command],
    ["args", [...server.args]],
    ...Object.entries(server.env).map(([name, value]): McpServerSetting => {
      if (!ENV_NAME.test(name)) throw new Error(`invalid environment variable name ${name}`);
      return [`env.${name}`, value];
    }),
    ["enabled", true],
    ["required", true],
    ["default_tools_approval_mode", "approve"],
    ["startup_timeout_sec", server.startupTimeoutSec],
    ["tool_timeout_sec", server.toolTimeoutSec],
  ];
  return entries.map(([key, value]) => [`${prefix}.${key}`, value]);
}

/** The `key=value` assignments (each one argv element after `-c`) that define `server`. */
export function mcpServerOverrides(server: McpServerRegistration): string[] {
  return mcpServerSettings(server).map(([key, value]) => {
    const rendered = renderTomlLiteral(value);
    if (!rendered.ok) throw new Error(`${key} ${rendered.message}`);
    return `${key}=${rendered.literal}`;
  });
}
