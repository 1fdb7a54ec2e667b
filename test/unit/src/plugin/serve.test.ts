import { existsSync } from "node:fs";

import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";

import { isPluginError } from "../../../../src/errors.js";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../../../src/gen/grpc/health/v1/health_pb.js";
import { ProviderPlugin } from "../../../../src/gen/plexum/provider/v1/provider_pb.js";
import { GRPCBroker } from "../../../../src/gen/plugin/grpc_broker_pb.js";
import { GRPCController } from "../../../../src/gen/plugin/grpc_controller_pb.js";
import { GRPCStdio } from "../../../../src/gen/plugin/grpc_stdio_pb.js";
import { createHclogLogger } from "../../../../src/log/hclog-logger.js";
import { createServiceClient } from "../../../../src/plugin/grpc-client.js";
import { implementService } from "../../../../src/plugin/grpc-service.js";
import {
  servePlugin,
  type ServePluginOptions,
  type ServePluginResult,
} from "../../../../src/plugin/serve.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

const dirs = createTempDirs();
const running: ServePluginResult[] = [];
const clients: { close(): void }[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(running.splice(0).map((server) => server.close()));
});
afterAll(() => dirs.removeAll());

const unimplemented = (_call: unknown, callback: grpc.sendUnaryData<never>): void =>
  callback({ code: grpc.status.UNIMPLEMENTED, details: "not in this test" });

// Echoes the config bytes back as a diagnostic, so a large request also makes a large response.
const provider = implementService(ProviderPlugin, {
  getInfo(_call, callback) {
    callback(null, { name: "test-provider", protocolVersion: 1 });
  },
  configure(call, callback) {
    callback(null, {
      diagnostics: [
        {
          summary: String(call.request.configJson.length),
          detail: Buffer.from(call.request.configJson).toString("latin1"),
        },
      ],
    });
  },
  listModels: unimplemented,
  runTurn(call) {
    call.end();
  },
  cancelTurn: unimplemented,
  resetThread: unimplemented,
  consume: unimplemented,
  getUsage: unimplemented,
  compactThread: unimplemented,
});

async function serve(overrides: Partial<ServePluginOptions> = {}): Promise<ServePluginResult> {
  const dir = await dirs.make("serve");
  const result = await servePlugin({
    handshake: { cookieKey: "TEST_COOKIE", cookieValue: "v", appProtocolVersions: [1] },
    services: [provider],
    logger: createHclogLogger({ level: "silent" }),
    env: { PLUGIN_UNIX_SOCKET_DIR: dir },
    test: true,
    ...overrides,
  });
  running.push(result);
  return result;
}

function client<S extends Parameters<typeof createServiceClient>[0]>(
  server: ServePluginResult,
  service: S,
) {
  const c = createServiceClient(service, server.target, grpc.credentials.createInsecure());
  clients.push(c);
  return c;
}

// Resolves with the call's final status; a non-OK status is also emitted as 'error', which is
// swallowed here so that a failing assertion, not an unhandled error, reports it.
function statusOf(
  call: grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>,
) {
  call.on("error", () => {});
  return new Promise<grpc.StatusObject>((resolve) => call.once("status", resolve));
}

describe("servePlugin in test mode", () => {
  it("binds a unix socket and reports what it would announce", async () => {
    const server = await serve({
      env: { PLUGIN_UNIX_SOCKET_DIR: await dirs.make("serve"), PLUGIN_PROTOCOL_VERSIONS: "1,2,3" },
      handshake: { cookieKey: "K", cookieValue: "v", appProtocolVersions: [1, 2] },
    });
    expect(server.network).toBe("unix");
    expect(server.target).toBe(`unix:${server.address}`);
    expect(existsSync(server.address)).toBe(true);
    expect(server.protocolVersion).toBe(2);
    expect(server.serverCert).toBeUndefined();
  });

  it('answers Health/Check: SERVING for "plugin" and "", NOT_FOUND otherwise', async () => {
    const health = client(await serve(), Health);
    expect((await health.check({ service: "plugin" })).status).toBe(ServingStatus.SERVING);
    expect((await health.check({})).status).toBe(ServingStatus.SERVING);
    await expect(health.check({ service: "plexum.provider.v1.Nope" })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
  });

  it("keeps Health/Watch open and reports NOT_SERVING when the server stops", async () => {
    const server = await serve();
    const health = client(server, Health);
    const watch = health.watch({ service: "plugin" });
    const received: number[] = [];
    watch.on("data", (message: { status: number }) => received.push(message.status));
    const status = statusOf(watch);
    await vi.waitFor(() => expect(received).toEqual([ServingStatus.SERVING]));
    await server.close();
    expect((await status).code).toBe(grpc.status.OK);
    expect(received).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
  });

  it("keeps StreamStdio open without sending anything until shutdown", async () => {
    const server = await serve();
    const stdio = client(server, GRPCStdio).streamStdio({});
    const data = vi.fn();
    stdio.on("data", data);
    const status = statusOf(stdio);
    let ended = false;
    void status.then(() => (ended = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ended).toBe(false);
    expect(data).not.toHaveBeenCalled();
    await server.close();
    expect((await status).code).toBe(grpc.status.OK);
    expect(data).not.toHaveBeenCalled();
  });

  it("ends StreamStdio for a client that cancels, without stopping the server", async () => {
    const server = await serve();
    const stdio = client(server, GRPCStdio).streamStdio({});
    const status = statusOf(stdio);
    await new Promise((resolve) => setTimeout(resolve, 50));
    stdio.cancel();
    expect((await status).code).toBe(grpc.status.CANCELLED);
    expect((await client(server, Health).check({ service: "plugin" })).status).toBe(
      ServingStatus.SERVING,
    );
  });

  it("accepts GRPCBroker/StartStream, holds it open and ends it when the host ends its side", async () => {
    const server = await serve();
    const broker = client(server, GRPCBroker).startStream();
    const data = vi.fn();
    broker.on("data", data);
    const status = statusOf(broker);
    let ended = false;
    void status.then(() => (ended = true));
    broker.write({ serviceId: 1, network: "unix", address: "/tmp/x" });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(ended).toBe(false);
    broker.end();
    expect((await status).code).toBe(grpc.status.OK);
    expect(data).not.toHaveBeenCalled();
  });

  it("replies to GRPCController/Shutdown, then runs onShutdown, stops and removes the socket", async () => {
    const onShutdown = vi.fn(async () => {});
    const server = await serve({ onShutdown });
    const stdio = client(server, GRPCStdio).streamStdio({});
    const stdioStatus = statusOf(stdio);
    const started = performance.now();
    await expect(client(server, GRPCController).shutdown({})).resolves.toBeDefined();
    expect(await server.closed).toBe("shutdown-rpc");
    expect(performance.now() - started).toBeLessThan(2000);
    expect(onShutdown).toHaveBeenCalledExactlyOnceWith("shutdown-rpc");
    expect((await stdioStatus).code).toBe(grpc.status.OK);
    expect(existsSync(server.address)).toBe(false);
    await expect(
      client(server, Health).check({ service: "plugin" }, { deadline: Date.now() + 1000 }),
    ).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  it("bounds an onShutdown that never settles", async () => {
    const server = await serve({ onShutdown: () => new Promise(() => {}), shutdownTimeoutMs: 200 });
    const started = performance.now();
    await client(server, GRPCController).shutdown({});
    expect(await server.closed).toBe("shutdown-rpc");
    expect(performance.now() - started).toBeLessThan(1000);
    expect(existsSync(server.address)).toBe(false);
  });

  it("close() stops the server without calling onShutdown", async () => {
    const onShutdown = vi.fn();
    const server = await serve({ onShutdown });
    await server.close();
    expect(await server.closed).toBeUndefined();
    expect(onShutdown).not.toHaveBeenCalled();
    expect(existsSync(server.address)).toBe(false);
  });

  it("round-trips a 16 MiB unary message both ways", async () => {
    const provider = client(await serve(), ProviderPlugin);
    const size = 16 * 1024 * 1024;
    const config = Buffer.alloc(size);
    for (let i = 0; i < size; i++) config[i] = 97 + (i % 26);
    const response = await provider.configure({ configJson: config });
    const [diagnostic] = response.diagnostics;
    expect(diagnostic?.summary).toBe(String(size));
    expect(diagnostic?.detail.length).toBe(size);
    expect(Buffer.from(diagnostic?.detail ?? "", "latin1").equals(config)).toBe(true);
  });

  it("serves application services next to the go-plugin ones", async () => {
    const info = await client(await serve(), ProviderPlugin).getInfo({});
    expect(info).toMatchObject({ name: "test-provider", protocolVersion: 1 });
  });

  it("refuses a configuration without a magic cookie", async () => {
    let thrown: unknown;
    try {
      await serve({ handshake: { cookieKey: "", cookieValue: "", appProtocolVersions: [1] } });
    } catch (error) {
      thrown = error;
    }
    expect(isPluginError(thrown) && thrown.code).toBe("PLUGIN_MISCONFIGURED");
  });

  it("rejects with TLS_SETUP_FAILED for a PLUGIN_CLIENT_CERT that is not a certificate", async () => {
    let thrown: unknown;
    try {
      await serve({
        env: { PLUGIN_UNIX_SOCKET_DIR: await dirs.make("serve"), PLUGIN_CLIENT_CERT: "garbage" },
      });
    } catch (error) {
      thrown = error;
    }
    expect(isPluginError(thrown) && thrown.code).toBe("TLS_SETUP_FAILED");
  });

  it("rejects with LISTEN_FAILED instead of exiting when nothing can be bound", async () => {
    let thrown: unknown;
    try {
      await serve({ env: { PLUGIN_UNIX_SOCKET_DIR: "/nonexistent/x", PLUGIN_MIN_PORT: "bad" } });
    } catch (error) {
      thrown = error;
    }
    expect(isPluginError(thrown) && thrown.code).toBe("LISTEN_FAILED");
  });
});
