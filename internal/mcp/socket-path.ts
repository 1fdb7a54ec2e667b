// Where an agent's host-tool socket lives. The path depends only on the agent id and the config,
// so codex's registration (built before codex starts) and the plugin's per-turn listener agree on
// every turn and across plugin restarts.
import { createHash } from "node:crypto";
import { chmod, lstat, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";

import { AppError, isAppError } from "../core/app-error.js";

/**
 * The longest socket path we create, in bytes. sun_path holds 108 bytes on Linux and 104 on macOS,
 * NUL included; 103 fits both.
 */
export const MAX_SOCKET_PATH_BYTES = 103;

const AGENT_HASH_HEX = 16;
const STATE_HASH_HEX = 8;
const SOCKET_SUFFIX = ".sock";

/** What the socket location is derived from (config `state_dir` and `mcp_host.socket_dir`). */
export interface SocketLocationOptions {
  stateDir: string;
  /** Operator-chosen directory; used as is (it must be short enough). */
  socketDir?: string | undefined;
  /** For tests: the fallback base directory; default the OS temp dir. */
  fallbackBase?: string;
  /** For tests: the uid in the fallback directory name; default process.getuid(). */
  uid?: number;
}

function sha256Hex(text: string, chars: number): string {
  return createHash("sha256").update(text, "utf8").digest("hex").slice(0, chars);
}

/** `<16 hex of sha256(agent id)>.sock`: fixed length for any agent id. */
export function socketFileName(agentId: string): string {
  return `${sha256Hex(agentId, AGENT_HASH_HEX)}${SOCKET_SUFFIX}`;
}

function fits(path: string): boolean {
  return Buffer.byteLength(path, "utf8") <= MAX_SOCKET_PATH_BYTES;
}

/**
 * The socket path of `agentId`:
 * - `<socket_dir>/<hash>.sock` when the operator set `mcp_host.socket_dir`;
 * - else `<state_dir>/mcp/<hash>.sock` when that fits the unix path limit;
 * - else `<tmp>/plexum-mcp-<uid>/<hash of state_dir>-<hash>.sock`, still one per state dir.
 *
 * Throws AppError MCP_SOCKET_UNAVAILABLE when the configured directory is too long.
 */
export function agentSocketPath(agentId: string, options: SocketLocationOptions): string {
  const name = socketFileName(agentId);
  if (options.socketDir !== undefined) {
    const path = join(options.socketDir, name);
    if (!fits(path)) {
      throw new AppError(
        "MCP_SOCKET_UNAVAILABLE",
        `mcp_host.socket_dir ${options.socketDir} is too long for a unix socket path ` +
          `(${Buffer.byteLength(path)} bytes with the socket name; the limit is ${MAX_SOCKET_PATH_BYTES})`,
        { fields: ["mcp_host.socket_dir"] },
      );
    }
    return path;
  }
  const inState = join(options.stateDir, "mcp", name);
  if (fits(inState)) return inState;
  const uid = options.uid ?? process.getuid?.() ?? 0;
  const base = join(options.fallbackBase ?? tmpdir(), `plexum-mcp-${uid}`);
  const path = join(base, `${sha256Hex(options.stateDir, STATE_HASH_HEX)}-${name}`);
  if (!fits(path)) {
    throw new AppError(
      "MCP_SOCKET_UNAVAILABLE",
      `no unix socket path of at most ${MAX_SOCKET_PATH_BYTES} bytes is available: state_dir and the ` +
        `temp dir ${base} are too long; set mcp_host.socket_dir to a short directory`,
      { fields: ["mcp_host.socket_dir"] },
    );
  }
  return path;
}

/**
 * Creates the socket's directory with mode 0700 if missing, and checks that an existing one is a
 * real directory owned by this user, tightening its mode to 0700. A shared temp dir could otherwise
 * hand the socket to another user.
 */
export async function ensureSocketDir(dir: string): Promise<void> {
  if (!isAbsolute(dir)) {
    throw new AppError("MCP_SOCKET_UNAVAILABLE", `socket directory ${dir} is not absolute`);
  }
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const info = await lstat(dir);
    if (!info.isDirectory()) {
      throw new AppError(
        "MCP_SOCKET_UNAVAILABLE",
        `socket directory ${dir} is not a directory (a symlink or file is in the way)`,
      );
    }
    const uid = process.getuid?.();
    if (uid !== undefined && info.uid !== uid) {
      throw new AppError(
        "MCP_SOCKET_UNAVAILABLE",
        `socket directory ${dir} belongs to uid ${info.uid}, not to this plugin's uid ${uid}`,
      );
    }
    if ((info.mode & 0o777) !== 0o700) await chmod(dir, 0o700);
  } catch (error) {
    if (isAppError(error)) throw error;
    throw new AppError(
      "MCP_SOCKET_UNAVAILABLE",
      `cannot prepare socket directory ${dir}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
