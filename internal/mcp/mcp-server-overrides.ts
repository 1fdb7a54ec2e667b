// A stdio MCP server registered for one codex run through `-c mcp_servers.<name>.…` overrides, so
// nothing is written to the operator's config.toml and each run sees only its own agent's server.
// Keys per codex-rs/config/src/mcp_types.rs (0.169.0); see research codex-cli.md §4.2–4.4.
import { renderTomlLiteral } from "../config/config-overrides.js";
import type { McpServerRegistration } from "./mcp-registration.js";

const BARE_KEY = /^[A-Za-z0-9_-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The `key=value` assignments (each one argv element after `-c`) that define `server`:
 * - `required = true`: a bridge that fails to start fails the run loudly, instead of its tools
 *   silently missing (a non-required server that fails produces no event at all in exec);
 * - `default_tools_approval_mode = "approve"`: exec's approval policy is `never`, so with the
 *   default mode every unannotated tool call fails with "requires approval".
 */
export function mcpServerOverrides(server: McpServerRegistration): string[] {
  if (!BARE_KEY.test(server.name)) {
    throw new Error(`MCP server name ${JSON.stringify(server.name)} is not a bare TOML key`);
  }
  const prefix = `mcp_servers.${server.name}`;
  const entries: [string, unknown][] = [
    ["command", server.command],
    ["args", [...server.args]],
    ...Object.entries(server.env).map(([name, value]): [string, unknown] => {
      if (!ENV_NAME.test(name)) throw new Error(`invalid environment variable name ${name}`);
      return [`env.${name}`, value];
    }),
    ["enabled", true],
    ["required", true],
    ["default_tools_approval_mode", "approve"],
    ["startup_timeout_sec", server.startupTimeoutSec],
    ["tool_timeout_sec", server.toolTimeoutSec],
  ];
  return entries.map(([key, value]) => {
    const rendered = renderTomlLiteral(value);
    if (!rendered.ok) throw new Error(`mcp_servers.${server.name}.${key} ${rendered.message}`);
    return `${prefix}.${key}=${rendered.literal}`;
  });
}
