import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";

import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, describe, expect, it } from "vitest";

import { isPluginError } from "../../../../src/errors.js";
import {
  bindPluginListener,
  createSocketPath,
  MAX_SOCKET_PATH_BYTES,
  parsePortRange,
  type PluginListener,
  resolveGroupId,
} from "../../../../src/plugin/listen.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

const dirs = createTempDirs();
const servers: grpc.Server[] = [];
const listeners: PluginListener[] = [];
const blockers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) server.forceShutdown();
  for (const listener of listeners.splice(0)) listener.cleanup();
  await Promise.all(blockers.splice(0).map((b) => new Promise((resolve) => b.close(resolve))));
});
afterAll(() => dirs.removeAll());

async function bindWith(
  env: Record<string, string>,
  network: "auto" | "tcp" = "auto",
): Promise<PluginListener> {
  const server = new grpc.Server();
  servers.push(server);
  const listener = await bindPluginListener(server, grpc.ServerCredentials.createInsecure(), {
    env,
    network,
  });
  listeners.push(listener);
  return listener;
}

function listenOn(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(undefined));
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => {
      blockers.push(server);
      resolve(server);
    });
  });
}

// Two adjacent free ports, the first of which is then held by a plain TCP server.
async function blockedPortPair(): Promise<{ blocked: number; next: number }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await listenOn(0);
    const port = (first?.address() as { port: number } | null)?.port;
    if (port === undefined || port >= 65535) continue;
    const probe = await listenOn(port + 1);
    if (probe === undefined) continue;
    await new Promise((resolve) => probe.close(resolve));
    blockers.splice(blockers.indexOf(probe), 1);
    return { blocked: port, next: port + 1 };
  }
  throw new Error("no adjacent free ports");
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return isPluginError(error) ? error.code : `not a PluginError: ${String(error)}`;
  }
  return undefined;
}

describe("bindPluginListener over a unix socket", () => {
  it("creates a fresh socket in PLUGIN_UNIX_SOCKET_DIR with mode 0600 that a client can reach", async () => {
    const dir = await dirs.make("listen");
    const listener = await bindWith({ PLUGIN_UNIX_SOCKET_DIR: dir });
    expect(listener.network).toBe("unix");
    expect(listener.address.startsWith(`${dir}/`)).toBe(true);
    expect(listener.target).toBe(`unix:${listener.address}`);
    const stat = statSync(listener.address);
    expect(stat.isSocket()).toBe(true);
    expect(stat.mode & 0o777).toBe(0o600);
    expect(Buffer.byteLength(listener.address)).toBeLessThan(104);

    const client = new grpc.Client(listener.target, grpc.credentials.createInsecure());
    await new Promise<void>((resolve, reject) =>
      client.waitForReady(Date.now() + 5000, (error) => (error ? reject(error) : resolve())),
    );
    client.close();
  });

  it("uses a different random path each time", async () => {
    const dir = await dirs.make("listen");
    const a = await bindWith({ PLUGIN_UNIX_SOCKET_DIR: dir });
    const b = await bindWith({ PLUGIN_UNIX_SOCKET_DIR: dir });
    expect(a.address).not.toBe(b.address);
  });

  it("removes the socket file on cleanup", async () => {
    const dir = await dirs.make("listen");
    const listener = await bindWith({ PLUGIN_UNIX_SOCKET_DIR: dir });
    expect(existsSync(listener.address)).toBe(true);
    listener.cleanup();
    expect(existsSync(listener.address)).toBe(false);
    listener.cleanup();
  });

  it("falls back to /tmp when the configured directory makes the path too long", async () => {
    const base = await dirs.make("listen");
    const deep = join(base, "d".repeat(60), "e".repeat(60));
    mkdirSync(deep, { recursive: true });
    const listener = await bindWith({ PLUGIN_UNIX_SOCKET_DIR: deep });
    expect(listener.network).toBe("unix");
    expect(listener.address.startsWith("/tmp/")).toBe(true);
    expect(Buffer.byteLength(listener.address)).toBeLessThanOrEqual(MAX_SOCKET_PATH_BYTES);
  });

  it("chowns the socket to PLUGIN_UNIX_SOCKET_GROUP and makes it 0660", async () => {
    const dir = await dirs.make("listen");
    const currentGid = process.getgid?.() ?? 0;
    // As root, prove an actual change of group by picking another one by name.
    const other =
      process.getuid?.() === 0
        ? readFileSync("/etc/group", "utf8")
            .split("\n")
            .map((line) => line.split(":"))
            .find(([name, , gid]) => name && gid && Number(gid) !== currentGid)
        : undefined;
    const group = other?.[0] ?? String(currentGid);
    const expectedGid = other?.[2] === undefined ? currentGid : Number(other[2]);
    const listener = await bindWith({
      PLUGIN_UNIX_SOCKET_DIR: dir,
      PLUGIN_UNIX_SOCKET_GROUP: group,
    });
    const stat = statSync(listener.address);
    expect(stat.gid).toBe(expectedGid);
    expect(stat.mode & 0o777).toBe(0o660);
  });

  it("fails with LISTEN_FAILED and leaves no socket for an unknown group", async () => {
    const dir = await dirs.make("listen");
    const server = new grpc.Server();
    servers.push(server);
    const failure = bindPluginListener(server, grpc.ServerCredentials.createInsecure(), {
      env: { PLUGIN_UNIX_SOCKET_DIR: dir, PLUGIN_UNIX_SOCKET_GROUP: "no-such-group-plexum" },
    });
    expect(await codeOf(failure)).toBe("LISTEN_FAILED");
    const { readdirSync } = await import("node:fs");
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("bindPluginListener over TCP", () => {
  it("falls back to 127.0.0.1 in the port range when the socket directory is unusable", async () => {
    const { next } = await blockedPortPair();
    const listener = await bindWith({
      PLUGIN_UNIX_SOCKET_DIR: "/nonexistent/plexum-socket-dir",
      PLUGIN_MIN_PORT: String(next),
      PLUGIN_MAX_PORT: String(next),
    });
    expect(listener).toMatchObject({
      network: "tcp",
      address: `127.0.0.1:${next}`,
      target: `127.0.0.1:${next}`,
    });
  });

  it("falls back when the socket directory is a file", async () => {
    const dir = await dirs.make("listen");
    const file = join(dir, "not-a-dir");
    writeFileSync(file, "");
    const { next } = await blockedPortPair();
    const listener = await bindWith({
      PLUGIN_UNIX_SOCKET_DIR: file,
      PLUGIN_MIN_PORT: String(next),
      PLUGIN_MAX_PORT: String(next),
    });
    expect(listener.network).toBe("tcp");
  });

  it("skips ports in use and takes the first free one in the range", async () => {
    const { blocked, next } = await blockedPortPair();
    const listener = await bindWith(
      { PLUGIN_MIN_PORT: String(blocked), PLUGIN_MAX_PORT: String(next) },
      "tcp",
    );
    expect(listener.address).toBe(`127.0.0.1:${next}`);
    const client = new grpc.Client(listener.target, grpc.credentials.createInsecure());
    await new Promise<void>((resolve, reject) =>
      client.waitForReady(Date.now() + 5000, (error) => (error ? reject(error) : resolve())),
    );
    client.close();
  });

  it("fails with LISTEN_FAILED when every port in the range is taken", async () => {
    const { blocked } = await blockedPortPair();
    const server = new grpc.Server();
    servers.push(server);
    const failure = bindPluginListener(server, grpc.ServerCredentials.createInsecure(), {
      env: { PLUGIN_MIN_PORT: String(blocked), PLUGIN_MAX_PORT: String(blocked) },
      network: "tcp",
    });
    expect(await codeOf(failure)).toBe("LISTEN_FAILED");
  });
});

describe("bindPluginListener with unusable credentials", () => {
  it("fails with LISTEN_FAILED at once instead of trying every port", async () => {
    const broken = grpc.ServerCredentials.createSsl(
      Buffer.from("not a certificate"),
      [{ cert_chain: Buffer.from("x"), private_key: Buffer.from("y") }],
      true,
    );
    for (const network of ["auto", "tcp"] as const) {
      const server = new grpc.Server();
      servers.push(server);
      const started = performance.now();
      const failure = bindPluginListener(server, broken, {
        env: { PLUGIN_UNIX_SOCKET_DIR: await dirs.make("listen") },
        network,
      });
      expect(await codeOf(failure)).toBe("LISTEN_FAILED");
      expect(performance.now() - started).toBeLessThan(1000);
    }
  });
});

describe("parsePortRange", () => {
  it("defaults to 10000..25000 and reads the variables", () => {
    expect(parsePortRange({})).toEqual({ min: 10000, max: 25000 });
    expect(parsePortRange({ PLUGIN_MIN_PORT: "41000", PLUGIN_MAX_PORT: " 41010 " })).toEqual({
      min: 41000,
      max: 41010,
    });
  });

  it.each([
    [{ PLUGIN_MIN_PORT: "abc" }],
    [{ PLUGIN_MAX_PORT: "70000" }],
    [{ PLUGIN_MIN_PORT: "0" }],
    [{ PLUGIN_MIN_PORT: "500", PLUGIN_MAX_PORT: "400" }],
  ])("rejects %j", async (env) => {
    expect(await codeOf(Promise.resolve().then(() => parsePortRange(env)))).toBe("LISTEN_FAILED");
  });
});

describe("resolveGroupId", () => {
  it("takes numeric gids as they are and looks names up in the group file", async () => {
    const dir = await dirs.make("listen");
    const file = join(dir, "group");
    writeFileSync(file, "root:x:0:\nplexum:x:4242:alice,bob\n\nbroken\n");
    expect(resolveGroupId("77", file)).toBe(77);
    expect(resolveGroupId("plexum", file)).toBe(4242);
    expect(resolveGroupId("root", file)).toBe(0);
    expect(await codeOf(Promise.resolve().then(() => resolveGroupId("alice", file)))).toBe(
      "LISTEN_FAILED",
    );
    expect(
      await codeOf(Promise.resolve().then(() => resolveGroupId("x", join(dir, "missing")))),
    ).toBe("LISTEN_FAILED");
  });
});

describe("createSocketPath", () => {
  it("returns a path in the directory, or in /tmp when too long, or nothing", () => {
    expect(createSocketPath("/var/run/x")).toMatch(/^\/var\/run\/x\/plugin-[0-9a-f]{12}\.sock$/);
    expect(createSocketPath(`/${"a".repeat(120)}`)).toMatch(/^\/tmp\/plugin-[0-9a-f]{12}\.sock$/);
  });
});
