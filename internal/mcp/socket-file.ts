// The agent's socket file before the plugin listens on it: one left by a dead plugin (killed
// mid-turn) blocks listen() with EADDRINUSE and is removed; one a live listener answers on belongs
// to another process serving the same agent, and is left alone.
import { once } from "node:events";
import { lstat, unlink } from "node:fs/promises";
import { createConnection } from "node:net";

import { AppError } from "../core/app-error.js";

const STALE_PROBE_MS = 500;

/** Removes a stale socket file at `path`; throws MCP_SOCKET_UNAVAILABLE when it is not stale. */
export async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch {
    return;
  }
  if (!isSocket) {
    throw new AppError(
      "MCP_SOCKET_UNAVAILABLE",
      `${path} exists and is not a socket; remove it so the plugin can listen there`,
    );
  }
  if (await isListening(path)) {
    throw new AppError(
      "MCP_SOCKET_UNAVAILABLE",
      `another process already listens on the host-tool socket ${path}; ` +
        "is a second plugin running turns for the same agent?",
    );
  }
  await unlink(path).catch(() => undefined);
}

async function isListening(path: string): Promise<boolean> {
  const socket = createConnection(path);
  socket.unref();
  const timer = setTimeout(() => socket.destroy(new Error("probe timeout")), STALE_PROBE_MS);
  try {
    await once(socket, "connect");
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}
