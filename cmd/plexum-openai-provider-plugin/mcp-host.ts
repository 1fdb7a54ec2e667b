// `plexum-openai-provider-plugin mcp-host`: the MCP stdio server codex starts for an agent's host
// tools. Stdout is the MCP channel; logs go to stderr as hclog JSON.
import { runMcpHostBridge } from "../../internal/mcp/bridge.js";
import {
  PLEXUM_MCP_AGENT_ID,
  PLEXUM_MCP_LOG_LEVEL,
  PLEXUM_MCP_SOCKET,
} from "../../internal/mcp/mcp-env.js";
import { PLUGIN_VERSION } from "../../internal/provider/plugin-identity.js";
import { createHclogLogger } from "../../src/log/hclog-logger.js";

const USAGE = `usage: plexum-openai-provider-plugin mcp-host

Started by codex as an MCP stdio server; the plugin registers it per turn. Reads
${PLEXUM_MCP_SOCKET} (the agent's unix socket) and ${PLEXUM_MCP_AGENT_ID} from the environment.
`;

/** Runs the bridge until codex closes stdin; resolves to the exit code. */
export async function runMcpHost(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const socketPath = env[PLEXUM_MCP_SOCKET];
  const agentId = env[PLEXUM_MCP_AGENT_ID];
  if (socketPath === undefined || socketPath === "" || agentId === undefined || agentId === "") {
    process.stderr.write(
      `mcp-host: ${PLEXUM_MCP_SOCKET} and ${PLEXUM_MCP_AGENT_ID} must both be set\n\n${USAGE}`,
    );
    return 2;
  }
  const logger = createHclogLogger({
    level: env[PLEXUM_MCP_LOG_LEVEL] ?? "warn",
    bindings: { "@module": "mcp-host", agent_id: agentId },
  });
  await runMcpHostBridge({
    socketPath,
    agentId,
    stdin: process.stdin,
    stdout: process.stdout,
    logger,
    version: PLUGIN_VERSION,
  });
  return 0;
}
