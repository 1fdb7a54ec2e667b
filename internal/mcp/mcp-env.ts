// The contract between the plugin, codex and the `mcp-host` subcommand: the subcommand name and the
// two environment variables codex hands the bridge through the MCP server's `env` table (codex does
// not pass its own environment on to MCP servers).

/** argv[2] of the plugin executable that runs the MCP stdio bridge. */
export const MCP_HOST_SUBCOMMAND = "mcp-host";

/** Absolute path of the agent's unix socket, on which the plugin listens during a turn. */
export const PLEXUM_MCP_SOCKET = "PLEXUM_MCP_SOCKET";

/** The agent id the bridge presents in its hello; the plugin refuses any other. */
export const PLEXUM_MCP_AGENT_ID = "PLEXUM_MCP_AGENT_ID";

/** Log level of the bridge (pino level name); passed on from the plugin's PLEXUM_LOG_LEVEL. */
export const PLEXUM_MCP_LOG_LEVEL = "PLEXUM_MCP_LOG_LEVEL";

/**
 * The node the executable's launcher runs (scripts/launcher.mjs). The bridge gets the plugin's own
 * node: codex passes MCP servers only a few variables of its environment, so an operator's
 * PLEXUM_NODE_PATH would not reach it, and PATH's node may be another one.
 */
export const PLEXUM_NODE_PATH = "PLEXUM_NODE_PATH";
