// An MCP server that codex starts for one run: how a backend hands the host-tool bridge to codex.

/** One stdio MCP server for one codex run. */
export interface McpServerRegistration {
  /** Server name; a bare key ([A-Za-z0-9_-]) because codex splits dotted -c paths on ".". */
  name: string;
  /** Absolute path of the executable. */
  command: string;
  args: readonly string[];
  /** The server's whole environment beyond codex's whitelist: codex does not pass its own env on. */
  env: Readonly<Record<string, string>>;
  /** codex's handshake bound (startup_timeout_sec). */
  startupTimeoutSec: number;
  /** codex's bound on one tools/call (tool_timeout_sec). */
  toolTimeoutSec: number;
}
