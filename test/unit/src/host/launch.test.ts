// launchPlugin against the bundled fixture plugin, and against stand-ins that misbehave.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { isPluginError, type PluginErrorCode } from "../../../../src/errors.js";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../../../src/gen/grpc/health/v1/health_pb.js";
import { ProviderPlugin } from "../../../../src/gen/plexum/provider/v1/provider_pb.js";
import {
  type LaunchedPlugin,
  launchPlugin,
  type LaunchPluginOptions,
} from "../../../../src/host/launch.js";
import { createServiceClient } from "../../../../src/plugin/grpc-client.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";
import { buildSdkFixture, FIXTURE_COOKIE_KEY, FIXTURE_COOKIE_VALUE } from "../sdk-fixture.js";

const dirs = createTempDirs();
let fixture: string;
const launched: LaunchedPlugin[] = [];
const clients: { close(): void }[] = [];

beforeAll(async () => {
  fixture = await buildSdkFixture(await dirs.make("sdk-fixture"));
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(launched.splice(0).map((plugin) => plugin.kill()));
});
afterAll(() => dirs.removeAll());

async function launch(overrides: Partial<LaunchPluginOptions> = {}): Promise<LaunchedPlugin> {
  const plugin = await launchPlugin({
    path: fixture,
    cookieKey: FIXTURE_COOKIE_KEY,
    cookieValue: FIXTURE_COOKIE_VALUE,
    socketDir: await dirs.make("launch"),
    stderr: () => {},
    ...overrides,
  });
  launched.push(plugin);
  return plugin;
}

async function failure(
  options: Partial<LaunchPluginOptions>,
): Promise<{ code: PluginErrorCode | undefined; message: string }> {
  try {
    await launch(options);
  } catch (error) {
    return {
      code: isPluginError(error) ? error.code : undefined,
      message: String((error as Error).message),
    };
  }
  throw new Error("launchPlugin succeeded");
}

// A script that behaves like a broken plugin.
async function script(body: string): Promise<string> {
  const path = join(await dirs.make("script"), "plugin.sh");
  writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return path;
}

describe("launchPlugin", () => {
  it("completes the handshake and connects to the plugin's services", async () => {
    const socketDir = await dirs.make("launch");
    const plugin = await launch({ socketDir });
    expect(plugin.handshake).toMatchObject({
      coreVersion: 1,
      appVersion: 1,
      network: "unix",
      protocol: "grpc",
    });
    expect(plugin.handshake.address.startsWith(`${socketDir}/`)).toBe(true);
    expect(plugin.address).toBe(`unix:${plugin.handshake.address}`);
    const health = plugin.createClient(Health);
    clients.push(health);
    expect((await health.check({ service: "plugin" })).status).toBe(ServingStatus.SERVING);
    const provider = plugin.createClient(ProviderPlugin);
    clients.push(provider);
    expect(await provider.getInfo({})).toMatchObject({ name: "sdk-fixture" });
  });

  it("negotiates the highest common app protocol version", async () => {
    const plugin = await launch({ protocolVersions: [2, 1, 7] });
    expect(plugin.handshake.appVersion).toBe(2);
  });

  it("passes the port range and reaches a plugin on TCP", async () => {
    const plugin = await launch({
      socketDir: "/nonexistent/plexum",
      minPort: 42000,
      maxPort: 42999,
    });
    expect(plugin.handshake.network).toBe("tcp");
    const port = Number(plugin.address.split(":")[1]);
    expect(port).toBeGreaterThanOrEqual(42000);
    expect(port).toBeLessThanOrEqual(42999);
    const health = plugin.createClient(Health);
    clients.push(health);
    expect((await health.check({ service: "plugin" })).status).toBe(ServingStatus.SERVING);
  });

  it("does not pass on go-plugin variables from its own environment", async () => {
    process.env["PLUGIN_CLIENT_CERT"] = "not a certificate";
    process.env["PLUGIN_MULTIPLEX_GRPC"] = "true";
    try {
      const plugin = await launch();
      expect(plugin.handshake.serverCert).toBeUndefined();
      expect(plugin.handshake.multiplex).toBeUndefined();
    } finally {
      delete process.env["PLUGIN_CLIENT_CERT"];
      delete process.env["PLUGIN_MULTIPLEX_GRPC"];
    }
  });

  it("kill() shuts the plugin down gracefully within 2 s and the socket is gone", async () => {
    const lines: string[] = [];
    const plugin = await launch({ stderr: (line) => lines.push(line) });
    const exit = await plugin.kill();
    expect(exit).toMatchObject({ exitCode: 0, signal: null });
    expect(exit.durationMs).toBeGreaterThan(0);
    expect(exit.durationMs).toBeLessThan(2000);
    expect(existsSync(plugin.handshake.address)).toBe(false);
    expect(lines.some((line) => line.includes('"reason":"shutdown-rpc"'))).toBe(true);
    expect(await plugin.kill()).toBe(exit);
  });

  it("works end to end under AutoMTLS", async () => {
    const plugin = await launch({ autoMtls: true });
    expect(plugin.handshake.serverCert?.length).toBeGreaterThan(50);
    const provider = plugin.createClient(ProviderPlugin);
    clients.push(provider);
    expect(await provider.getInfo({})).toMatchObject({ name: "sdk-fixture" });

    const plaintext = createServiceClient(
      Health,
      plugin.address,
      grpc.credentials.createInsecure(),
    );
    clients.push(plaintext);
    await expect(
      plaintext.check({ service: "plugin" }, { deadline: Date.now() + 3000 }),
    ).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });

    const exit = await plugin.kill();
    expect(exit).toMatchObject({ exitCode: 0, signal: null });
    expect(exit.durationMs).toBeLessThan(2000);
  });

  it("re-logs the plugin's hclog records through the logger when no stderr callback is given", async () => {
    const seen: Record<string, unknown>[] = [];
    const { createHclogLogger } = await import("../../../../src/log/hclog-logger.js");
    const logger = createHclogLogger({
      level: "debug",
      destination: {
        write: (line: string) => void seen.push(JSON.parse(line) as Record<string, unknown>),
      },
    });
    const plugin = await launchPlugin({
      path: fixture,
      cookieKey: FIXTURE_COOKIE_KEY,
      cookieValue: FIXTURE_COOKIE_VALUE,
      logger,
    });
    launched.push(plugin);
    await plugin.kill();
    expect(seen).toContainEqual(
      expect.objectContaining({
        "@level": "info",
        "@message": "fixture onShutdown",
        reason: "shutdown-rpc",
        plugin: "sdk-plugin",
      }),
    );
  });

  it("fails with PLUGIN_EXITED_EARLY and the stderr tail when the cookie is wrong", async () => {
    const result = await failure({ cookieValue: "wrong" });
    expect(result.code).toBe("PLUGIN_EXITED_EARLY");
    expect(result.message).toContain("exit code 1");
    expect(result.message).toContain("This binary is a plugin.");
  });

  it("fails with HANDSHAKE_TIMEOUT and kills a plugin that prints nothing", async () => {
    const marker = join(await dirs.make("timeout"), "still-running");
    const path = await script(`trap '' TERM; sleep 0.6; touch ${marker}; sleep 30`);
    const started = performance.now();
    const result = await failure({ path, handshakeTimeoutMs: 300 });
    expect(result.code).toBe("HANDSHAKE_TIMEOUT");
    expect(performance.now() - started).toBeLessThan(2000);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(existsSync(marker)).toBe(false);
  });

  it("fails with HANDSHAKE_MALFORMED for a banner before the handshake", async () => {
    const result = await failure({
      path: await script('echo "starting toy plugin..."; exec sleep 30'),
    });
    expect(result.code).toBe("HANDSHAKE_MALFORMED");
    expect(result.message).toContain("starting toy plugin...");
  });

  it("fails with UNSUPPORTED_PROTOCOL_VERSION when no app version matches", async () => {
    const result = await failure({ protocolVersions: [3] });
    expect(result.code).toBe("UNSUPPORTED_PROTOCOL_VERSION");
    expect(result.message).toContain("plugin version 1");
  });

  it("fails with PLUGIN_START_FAILED for a missing executable", async () => {
    expect((await failure({ path: "/nonexistent/plexum-plugin" })).code).toBe(
      "PLUGIN_START_FAILED",
    );
  });

  it("kill() escalates to SIGKILL after 2 s when the plugin ignores Shutdown", async () => {
    const socket = join(await dirs.make("stubborn"), "fake.sock");
    writeFileSync(socket, "");
    const path = await script(
      `trap '' TERM INT; echo "1|1|unix|${socket}|grpc|"; while :; do sleep 1; done`,
    );
    const plugin = await launch({ path });
    const exit = await plugin.kill();
    expect(exit).toMatchObject({ exitCode: null, signal: "SIGKILL" });
    expect(exit.durationMs).toBeGreaterThanOrEqual(2000);
    expect(exit.durationMs).toBeLessThan(4500);
    expect(existsSync(socket)).toBe(false);
  });
});
