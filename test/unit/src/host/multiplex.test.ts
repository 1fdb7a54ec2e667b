// go-plugin >= 1.6's multiplexed broker (PLUGIN_MULTIPLEX_GRPC), between launchPlugin and the bundled
// fixture plugin, and at the wire level as go-plugin's internal/grpcmux speaks it: one yamux session
// on the plugin's listener, the host as yamux client, knocks on the broker stream.
import { connect, type Socket } from "node:net";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { GreeterService } from "../../../../packages/go-plugin/example/gen/example/greeter/v1/greeter_pb.js";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../../../src/gen/grpc/health/v1/health_pb.js";
import {
  type LaunchedPlugin,
  launchPlugin,
  type LaunchPluginOptions,
} from "../../../../src/host/launch.js";
import { implementService } from "../../../../src/plugin/grpc-service.js";
import { encodeHeader, Flag, FrameReader, FrameType } from "../../../../src/yamux/frame.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";
import { buildSdkFixture, FIXTURE_COOKIE_KEY, FIXTURE_COOKIE_VALUE } from "../sdk-fixture.js";

const dirs = createTempDirs();
let fixture: string;
const launched: LaunchedPlugin[] = [];
const closers: (() => void)[] = [];

beforeAll(async () => {
  fixture = await buildSdkFixture(await dirs.make("sdk-fixture"));
});
afterEach(async () => {
  for (const close of closers.splice(0)) close();
  await Promise.all(launched.splice(0).map((plugin) => plugin.kill()));
});
afterAll(() => dirs.removeAll());

async function launch(overrides: Partial<LaunchPluginOptions> = {}): Promise<LaunchedPlugin> {
  const plugin = await launchPlugin({
    path: fixture,
    cookieKey: FIXTURE_COOKIE_KEY,
    cookieValue: FIXTURE_COOKIE_VALUE,
    socketDir: await dirs.make("mux"),
    multiplex: true,
    stderr: () => {},
    ...overrides,
  });
  launched.push(plugin);
  return plugin;
}

async function greet(plugin: LaunchedPlugin, name: string): Promise<string> {
  const greeter = plugin.createClient(GreeterService);
  closers.push(() => greeter.close());
  return (await greeter.greet({ name }, { deadline: Date.now() + 15_000 })).message;
}

describe.each([
  ["insecure", false],
  ["AutoMTLS", true],
])("a multiplexing host (%s)", (_name, autoMtls) => {
  it("loads the plugin, which answers true in field 7, and calls it over the yamux session", async () => {
    const plugin = await launch({ autoMtls });
    expect(plugin.handshake.multiplex).toBe(true);
    // The address a host dials is the plugin's; ours relays to it through a private socket.
    expect(plugin.address).not.toBe(`unix:${plugin.handshake.address}`);
    const health = plugin.createClient(Health);
    closers.push(() => health.close());
    const { status } = await health.check({ service: "plugin" }, { deadline: Date.now() + 10_000 });
    expect(status).toBe(ServingStatus.SERVING);
    expect(await greet(plugin, "mux")).toBe("hello, mux");
    const exit = await plugin.kill();
    expect(exit).toMatchObject({ exitCode: 0, signal: null });
  });

  it("brokers a connection from host to plugin (plugin AcceptAndServe, host Dial)", async () => {
    const plugin = await launch({ autoMtls });
    const id = Number(await greet(plugin, "serve"));
    expect(id).toBeGreaterThan(0);
    const connection = await plugin.broker.dial(id);
    closers.push(() => connection.close());
    const brokered = connection.createClient(GreeterService);
    closers.push(() => brokered.close());
    const reply = await brokered.greet({ name: "host" }, { deadline: Date.now() + 10_000 });
    expect(reply.message).toBe("brokered hello, host");
  });

  it("brokers a connection from plugin to host (host AcceptAndServe, plugin Dial)", async () => {
    const plugin = await launch({ autoMtls });
    const id = plugin.broker.nextId();
    const served = await plugin.broker.acceptAndServe(id, [
      implementService(GreeterService, {
        greet(call, callback) {
          callback(null, { message: `host says hello, ${call.request.name}` });
        },
      }),
    ]);
    closers.push(() => void served.close());
    expect(await greet(plugin, `dial:${id}`)).toBe("host says hello, plugin");
  });
});

it("a plugin's dial to an id the host does not serve fails once its knock goes unanswered", async () => {
  const lines: string[] = [];
  const plugin = await launch({ stderr: (line) => lines.push(line) });
  // go-plugin's host keeps an unknown id's knock unanswered; the dialer gives up after 5 s.
  await expect(greet(plugin, "dial:77")).rejects.toThrow(/UNAVAILABLE/);
  const failure = lines
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .find((record) => record["@message"] === "brokered dial failed");
  expect(failure?.["service_id"]).toBe(77);
  expect(JSON.stringify(failure)).toContain(
    "timeout waiting for multiplexing knock acknowledgement (id 77)",
  );
});

it("a non-multiplexing host still gets six fields and brokers over separate sockets", async () => {
  const plugin = await launch({ multiplex: false });
  expect(plugin.handshake.multiplex).toBeUndefined();
  expect(plugin.address).toBe(`unix:${plugin.handshake.address}`);
  const id = Number(await greet(plugin, "serve"));
  const connection = await plugin.broker.dial(id);
  const brokered = connection.createClient(GreeterService);
  closers.push(() => brokered.close());
  const reply = await brokered.greet({ name: "host" }, { deadline: Date.now() + 10_000 });
  expect(reply.message).toBe("brokered hello, host");

  const hostId = plugin.broker.nextId();
  const served = await plugin.broker.acceptAndServe(hostId, [
    implementService(GreeterService, {
      greet(call, callback) {
        callback(null, { message: `host says hello, ${call.request.name}` });
      },
    }),
  ]);
  closers.push(() => void served.close());
  expect(await greet(plugin, `dial:${hostId}`)).toBe("host says hello, plugin");
});

describe("the wire, as go-plugin's GRPCClientMuxer and yamux see it", () => {
  interface Wire {
    socket: Socket;
    next(): Promise<{ type: number; flags: number; streamId: number; length: number }>;
  }

  async function rawConnect(address: string): Promise<Wire> {
    const socket = connect({ path: address });
    await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const reader = new FrameReader(1 << 20);
    const frames: { type: number; flags: number; streamId: number; length: number }[] = [];
    const waiters: (() => void)[] = [];
    socket.on("data", (chunk: Buffer) => {
      for (const { header } of reader.push(chunk)) frames.push(header);
      waiters.splice(0).forEach((wake) => wake());
    });
    closers.push(() => socket.destroy());
    return {
      socket,
      async next() {
        while (frames.length === 0) await new Promise<void>((resolve) => waiters.push(resolve));
        return frames.shift()!;
      },
    };
  }

  it("speaks yamux on the first connection: ACK for SYN, ping echo, GoAway ends it", async () => {
    const dir = await dirs.make("wire-first");
    // A plugin whose host never dials: PLUGIN_MULTIPLEX_GRPC set, and no broker stream opened
    // because we read the handshake ourselves.
    const { spawn } = await import("node:child_process");
    const child = spawn(fixture, [], {
      env: {
        ...process.env,
        [FIXTURE_COOKIE_KEY]: FIXTURE_COOKIE_VALUE,
        PLUGIN_PROTOCOL_VERSIONS: "1",
        PLUGIN_MULTIPLEX_GRPC: "true",
        PLUGIN_UNIX_SOCKET_DIR: dir,
      },
      stdio: ["ignore", "pipe", "ignore"],
    });
    closers.push(() => child.kill("SIGKILL"));
    const line = await new Promise<string>((resolve) =>
      child.stdout.setEncoding("utf8").once("data", (data: string) => resolve(data)),
    );
    const fields = line.trim().split("|");
    expect(fields).toHaveLength(7);
    expect(fields[6]).toBe("true");
    const wire = await rawConnect(fields[3]!);
    // yamux client: SYN on stream 1 as a window update, as OpenStream sends it.
    wire.socket.write(encodeHeader(FrameType.WindowUpdate, Flag.SYN, 1, 0));
    expect(await wire.next()).toEqual({
      version: 0,
      type: FrameType.WindowUpdate,
      flags: Flag.ACK,
      streamId: 1,
      length: 0,
    });
    // The stream went to the main gRPC server, whose HTTP/2 SETTINGS arrive as data on stream 1.
    const settings = await wire.next();
    expect(settings).toMatchObject({ type: FrameType.Data, flags: 0, streamId: 1 });
    expect(settings.length).toBeGreaterThanOrEqual(9);
    wire.socket.write(encodeHeader(FrameType.Ping, Flag.SYN, 0, 0xdeadbeef));
    let pong = await wire.next();
    while (pong.type !== FrameType.Ping) pong = await wire.next();
    expect(pong).toMatchObject({ flags: Flag.ACK, streamId: 0, length: 0xdeadbeef });
    // go-plugin's server muxer accepts only the first connection; later ones get nowhere.
    const second = connect({ path: fields[3]! });
    closers.push(() => second.destroy());
    const outcome = await new Promise<string>((resolve) => {
      second.once("data", () => resolve("data"));
      second.once("close", () => resolve("closed"));
    });
    expect(outcome).toBe("closed");
    // A GoAway and the end of the connection close the session, not the plugin.
    wire.socket.end(encodeHeader(FrameType.GoAway, 0, 0, 0));
    await new Promise((resolve) => wire.socket.once("close", resolve));
    expect(child.exitCode).toBeNull();
    child.kill("SIGTERM");
    expect(await new Promise((resolve) => child.once("exit", resolve))).toBe(0);
  });
});

it("launchPlugin refuses a plugin that does not multiplex when asked to, like go-plugin", async () => {
  // The stand-in answers field 7 with false, as this SDK did before multiplexing.
  const { writeFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const dir = await dirs.make("no-mux");
  const stub = join(dir, "stub.mjs");
  writeFileSync(
    stub,
    `#!${process.execPath}\nprocess.stdout.write("1|1|unix|/nonexistent.sock|grpc||false\\n");\nsetInterval(() => {}, 1000);\n`,
    { mode: 0o755 },
  );
  await expect(
    launchPlugin({
      path: stub,
      cookieKey: "K",
      cookieValue: "v",
      multiplex: true,
      stderr: () => {},
    }),
  ).rejects.toThrow(
    "client requested gRPC broker multiplexing but plugin does not support the feature",
  );
});
