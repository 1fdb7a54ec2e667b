// based on hashicorp/go-plugin server.go (serverListener, serverListener_unix, serverListener_tcp,
// setGroupWritable). Unlike go-plugin, a unix socket that cannot be created falls back to TCP.
import { randomBytes } from "node:crypto";
import {
  accessSync,
  chmodSync,
  chownSync,
  constants,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { createServer, type Server as NetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";

import { PluginError } from "../errors.js";
import {
  DEFAULT_MAX_PORT,
  DEFAULT_MIN_PORT,
  PLUGIN_MAX_PORT,
  PLUGIN_MIN_PORT,
  PLUGIN_UNIX_SOCKET_DIR,
  PLUGIN_UNIX_SOCKET_GROUP,
  type PluginEnv,
} from "./env.js";
import type { HandshakeNetwork } from "./handshake.js";

/**
 * Longest usable unix socket path in bytes. `sun_path` holds 104 bytes on macOS and 108 on Linux,
 * including the terminating NUL; keeping under the smaller limit keeps paths portable.
 */
export const MAX_SOCKET_PATH_BYTES = 103;

// Where to put the socket when the configured directory yields a path that is too long.
const SHORT_SOCKET_DIR = "/tmp";

/** Where a plugin's gRPC server listens. */
export interface PluginListener {
  /** Handshake field 3. */
  network: HandshakeNetwork;
  /** Handshake field 4: the socket path, or `127.0.0.1:<port>`. */
  address: string;
  /** The same address as a grpc-js target: `unix:/path` or `127.0.0.1:<port>`. */
  target: string;
  /** Removes the socket file, if any. Safe to call more than once. */
  cleanup(): void;
}

/** Options for {@link bindPluginListener}. */
export interface BindPluginListenerOptions {
  /** Source of the `PLUGIN_*` variables. */
  env: PluginEnv;
  /** Receives fallback and permission decisions at debug level. */
  logger?: Logger;
  /** `tcp` skips the unix socket attempt. Default `auto`. */
  network?: "auto" | "tcp";
}

/**
 * A fresh, random socket path inside `dir`, or inside {@link SHORT_SOCKET_DIR} when that would be
 * too long; `undefined` when neither fits.
 */
export function createSocketPath(dir: string): string | undefined {
  const name = `plugin-${randomBytes(6).toString("hex")}.sock`;
  for (const candidate of [dir, SHORT_SOCKET_DIR]) {
    const path = join(candidate, name);
    if (Buffer.byteLength(path) <= MAX_SOCKET_PATH_BYTES) return path;
  }
  return undefined;
}

/**
 * Resolves `PLUGIN_UNIX_SOCKET_GROUP`: a numeric gid is used as is, a name is looked up in the
 * group database file.
 *
 * @throws PluginError `LISTEN_FAILED` when the name is unknown.
 */
export function resolveGroupId(group: string, groupFile = "/etc/group"): number {
  if (/^\d+$/.test(group)) return Number(group);
  let entries = "";
  try {
    entries = readFileSync(groupFile, "utf8");
  } catch (error) {
    throw new PluginError("LISTEN_FAILED", `cannot read ${groupFile} to resolve group "${group}"`, {
      cause: error,
    });
  }
  for (const line of entries.split("\n")) {
    // name:password:gid:members
    const [name, , gid] = line.split(":");
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new PluginError("LISTEN_FAILED", `unknown group "${group}" in ${PLUGIN_UNIX_SOCKET_GROUP}`);
}

/**
 * The TCP port range from `PLUGIN_MIN_PORT`/`PLUGIN_MAX_PORT`, defaulting to 10000..25000.
 *
 * @throws PluginError `LISTEN_FAILED` for values that are not ports or an empty range, as
 *   go-plugin refuses to start then too.
 */
export function parsePortRange(env: PluginEnv): { min: number; max: number } {
  const read = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === "") return fallback;
    const value = Number(raw.trim());
    if (!Number.isInteger(value) || value < 1 || value > 65535) {
      throw new PluginError("LISTEN_FAILED", `${name} is not a TCP port: "${raw}"`);
    }
    return value;
  };
  const min = read(PLUGIN_MIN_PORT, DEFAULT_MIN_PORT);
  const max = read(PLUGIN_MAX_PORT, DEFAULT_MAX_PORT);
  if (min > max) {
    throw new PluginError("LISTEN_FAILED", `${PLUGIN_MIN_PORT} ${min} > ${PLUGIN_MAX_PORT} ${max}`);
  }
  return { min, max };
}

/**
 * What {@link bindListener} binds: a grpc-js server, or a plain `net.Server` (the multiplexed
 * broker accepts the host's one connection itself). Targets are grpc-js style: `unix:/path` or
 * `127.0.0.1:port`.
 */
export interface Bindable {
  bind(target: string): Promise<void>;
  unbind(target: string): void;
}

/** A grpc-js server with its credentials, as a {@link Bindable}. */
export function grpcBindable(server: grpc.Server, credentials: grpc.ServerCredentials): Bindable {
  return {
    bind: (target) =>
      new Promise((resolve, reject) => {
        server.bindAsync(target, credentials, (error) => (error ? reject(error) : resolve()));
      }),
    unbind: (target) => server.unbind(target),
  };
}

/** A `net.Server` as a {@link Bindable}; it can be bound once. */
export function netBindable(server: NetServer): Bindable {
  return {
    bind: (target) =>
      new Promise((resolve, reject) => {
        const onError = (error: Error): void => reject(error);
        server.once("error", onError);
        const listening = (): void => {
          server.off("error", onError);
          resolve();
        };
        if (target.startsWith("unix:")) server.listen({ path: target.slice(5) }, listening);
        else {
          const colon = target.lastIndexOf(":");
          server.listen(
            {
              host: target.slice(0, colon),
              port: Number(target.slice(colon + 1)),
              exclusive: true,
            },
            listening,
          );
        }
      }),
    unbind: () => server.close(),
  };
}

// grpc-js logs every failed bind as an error, so probe quietly with a plain socket first.
function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen({ host: "127.0.0.1", port, exclusive: true }, () => {
      probe.close(() => resolve(true));
    });
  });
}

// Errors that mean "this address cannot be used", as opposed to a broken server or credentials.
// grpc-js reports bind failures as text ("… errors: [listen EACCES: permission denied …]").
const addressErrors =
  /\b(EACCES|EADDRINUSE|EADDRNOTAVAIL|EINVAL|ENAMETOOLONG|ENOENT|ENOTDIR|EPERM|EROFS)\b/;

function isAddressError(error: unknown): boolean {
  return addressErrors.test(error instanceof Error ? error.message : String(error));
}

function usableDirectory(dir: string): boolean {
  try {
    if (!statSync(dir).isDirectory()) return false;
    accessSync(dir, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function removeSocket(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // Already gone or not ours to remove; a leftover socket file is harmless.
  }
}

function restrictSocket(path: string, group: string | undefined, logger?: Logger): void {
  if (group === undefined || group === "") {
    chmodSync(path, 0o600);
    return;
  }
  const gid = resolveGroupId(group);
  // -1 keeps the owner; only the group changes.
  chownSync(path, -1, gid);
  chmodSync(path, 0o660);
  logger?.debug({ path, gid }, "made plugin socket group-writable");
}

async function bindUnix(
  server: Bindable,
  env: PluginEnv,
  logger?: Logger,
): Promise<PluginListener | undefined> {
  const configured = env[PLUGIN_UNIX_SOCKET_DIR];
  const dir = configured !== undefined && configured !== "" ? configured : tmpdir();
  if (!usableDirectory(dir)) {
    logger?.debug({ dir }, "socket directory is not usable, falling back to TCP");
    return undefined;
  }
  const path = createSocketPath(dir);
  if (path === undefined) {
    logger?.debug({ dir }, "socket path would be too long, falling back to TCP");
    return undefined;
  }
  const target = `unix:${path}`;
  try {
    await server.bind(target);
  } catch (error) {
    if (!isAddressError(error)) throw PluginError.from(error, "LISTEN_FAILED");
    logger?.debug({ path, err: error }, "cannot bind unix socket, falling back to TCP");
    return undefined;
  }
  try {
    restrictSocket(path, env[PLUGIN_UNIX_SOCKET_GROUP], logger);
  } catch (error) {
    server.unbind(target);
    removeSocket(path);
    throw PluginError.from(error, "LISTEN_FAILED");
  }
  return { network: "unix", address: path, target, cleanup: () => removeSocket(path) };
}

async function bindTcp(server: Bindable, env: PluginEnv, logger?: Logger): Promise<PluginListener> {
  const { min, max } = parsePortRange(env);
  for (let port = min; port <= max; port++) {
    if (!(await isPortFree(port))) continue;
    const address = `127.0.0.1:${port}`;
    try {
      await server.bind(address);
    } catch (error) {
      // Anything but a lost race for the port would fail on every other port too.
      if (!isAddressError(error)) throw PluginError.from(error, "LISTEN_FAILED");
      logger?.debug({ port, err: error }, "cannot bind TCP port");
      continue;
    }
    return { network: "tcp", address, target: address, cleanup: () => {} };
  }
  throw new PluginError("LISTEN_FAILED", `no free TCP port on 127.0.0.1 in ${min}..${max}`);
}

/**
 * Binds `server` the way a go-plugin host expects: a fresh unix socket in `PLUGIN_UNIX_SOCKET_DIR`
 * (default: the temp dir), mode 0600, or owned by `PLUGIN_UNIX_SOCKET_GROUP` with mode 0660 when
 * that is set. When no unix socket can be made there, it listens on the first free port of
 * `127.0.0.1` in `[PLUGIN_MIN_PORT, PLUGIN_MAX_PORT]`.
 *
 * @throws PluginError `LISTEN_FAILED` when nothing can be bound or the group cannot be applied.
 */
export async function bindPluginListener(
  server: grpc.Server,
  credentials: grpc.ServerCredentials,
  options: BindPluginListenerOptions,
): Promise<PluginListener> {
  return bindListener(grpcBindable(server, credentials), options);
}

/** {@link bindPluginListener} for any {@link Bindable}. */
export async function bindListener(
  server: Bindable,
  options: BindPluginListenerOptions,
): Promise<PluginListener> {
  const { env, logger } = options;
  if (options.network !== "tcp") {
    const unix = await bindUnix(server, env, logger);
    if (unix !== undefined) return unix;
  }
  return bindTcp(server, env, logger);
}
