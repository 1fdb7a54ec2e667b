// based on hashicorp/go-plugin client.go (Start, Kill) and grpc_client.go (newGRPCClient, Close).
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { basename } from "node:path";
import { createInterface } from "node:readline";

import type { DescService } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";

import { PluginError } from "../errors.js";
import { GRPCBroker } from "../gen/plugin/grpc_broker_pb.js";
import { GRPCController } from "../gen/plugin/grpc_controller_pb.js";
import { redactSecrets } from "../log/redact.js";
import type { AutoMtlsCertificate } from "../plugin/auto-mtls.js";
import {
  type BrokerEndpoint,
  createGrpcBroker,
  createQueuedStreamer,
  type GrpcBroker,
} from "../plugin/broker.js";
import {
  DEFAULT_MAX_PORT,
  DEFAULT_MIN_PORT,
  PLUGIN_CLIENT_CERT,
  PLUGIN_MAX_PORT,
  PLUGIN_MIN_PORT,
  PLUGIN_MULTIPLEX_GRPC,
  PLUGIN_PROTOCOL_VERSIONS,
  PLUGIN_UNIX_SOCKET_DIR,
  PLUGIN_UNIX_SOCKET_GROUP,
} from "../plugin/env.js";
import { createServiceClient, type ServiceClient } from "../plugin/grpc-client.js";
import { createGrpcMuxer, type Relay } from "../plugin/grpc-mux.js";
import { type HandshakeInfo, parseHandshakeLine } from "../plugin/handshake.js";
import { connectMultiplexed } from "./connect-multiplexed.js";
import { relayStderrLine } from "./plugin-stderr.js";

/** Options for {@link launchPlugin}. */
export interface LaunchPluginOptions {
  /** Executable to run (no shell). */
  path: string;
  /** Its arguments. */
  args?: readonly string[];
  /**
   * Extra environment over `process.env` (minus its own `PLUGIN_*` variables); the go-plugin
   * variables set from these options override both. An `undefined` value unsets a variable.
   */
  env?: NodeJS.ProcessEnv;
  /** Magic cookie variable name. */
  cookieKey: string;
  /** Magic cookie value. */
  cookieValue: string;
  /** App protocol versions this host accepts; default `[1]`. */
  protocolVersions?: readonly number[];
  /** How long to wait for the handshake line; default 10 s. */
  handshakeTimeoutMs?: number;
  /** Generate a host certificate, pass it in `PLUGIN_CLIENT_CERT` and connect with mTLS. */
  autoMtls?: boolean;
  /**
   * Ask for go-plugin's multiplexed broker (`GRPCBrokerMultiplex`, go-plugin >= 1.6): sets
   * `PLUGIN_MULTIPLEX_GRPC=true`, requires the plugin to answer `true` in handshake field 7, and
   * carries every gRPC connection over one yamux session.
   */
  multiplex?: boolean;
  /** Sets `PLUGIN_UNIX_SOCKET_DIR`. */
  socketDir?: string;
  /** `PLUGIN_MIN_PORT`; default 10000. */
  minPort?: number;
  /** `PLUGIN_MAX_PORT`; default 25000. */
  maxPort?: number;
  /** Receives plugin stderr records re-logged at their hclog level when `stderr` is not given. */
  logger?: Logger;
  /** Receives every stderr line of the plugin, raw. */
  stderr?: (line: string) => void;
}

/** How a launched plugin ended. */
export interface PluginExit {
  /** Exit status, or null when killed by a signal. */
  exitCode: number | null;
  /** The killing signal, or null. */
  signal: NodeJS.Signals | null;
  /** For {@link LaunchedPlugin.kill}: time from the kill request to exit; else 0. */
  durationMs: number;
}

/** A running plugin whose handshake succeeded. */
export interface LaunchedPlugin {
  /** The child process. */
  process: ChildProcess;
  /** The parsed handshake line. */
  handshake: HandshakeInfo;
  /**
   * grpc-js target: `unix:/path` or `127.0.0.1:port`; under multiplexing a private local socket
   * whose connections are relayed as streams of the yamux session.
   */
  address: string;
  /** Insecure, or mTLS trusting the plugin's certificate from handshake field 6. */
  credentials: grpc.ChannelCredentials;
  /** Channel options the credentials need (the TLS server name under AutoMTLS). */
  channelOptions: grpc.ChannelOptions;
  /** Creates a typed client for one of the plugin's services. */
  createClient<S extends DescService>(service: S): ServiceClient<S>;
  /** The host's end of go-plugin's GRPCBroker; its stream to the plugin opens at launch. */
  broker: GrpcBroker;
  /** Settles when the process exits, however that happens. */
  exited: Promise<PluginExit>;
  /**
   * Stops the plugin like go-plugin's `Client.Kill()`: GRPCController/Shutdown (errors ignored),
   * up to 2 s for the process to exit, then SIGKILL. Idempotent.
   */
  kill(): Promise<PluginExit>;
}

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
// go-plugin's Kill() grace period.
const KILL_GRACE_MS = 2000;
const STDERR_TAIL_BYTES = 8192;

const goPluginVariables = [
  PLUGIN_CLIENT_CERT,
  PLUGIN_MAX_PORT,
  PLUGIN_MIN_PORT,
  PLUGIN_MULTIPLEX_GRPC,
  PLUGIN_PROTOCOL_VERSIONS,
  PLUGIN_UNIX_SOCKET_DIR,
  PLUGIN_UNIX_SOCKET_GROUP,
];

function delay(ms: number): Promise<"timeout"> {
  return new Promise((resolve) => setTimeout(() => resolve("timeout"), ms).unref());
}

/**
 * Starts a go-plugin plugin and completes its handshake: spawns `path` (no shell) with the magic
 * cookie and `PLUGIN_*` variables, reads the first stdout line within `handshakeTimeoutMs`, checks
 * it, and keeps draining stdout and stderr afterwards so the plugin never blocks on a full pipe.
 *
 * @throws PluginError `HANDSHAKE_TIMEOUT`, `PLUGIN_EXITED_EARLY` (with the stderr tail),
 *   `PLUGIN_START_FAILED`, `HANDSHAKE_MALFORMED`, `UNSUPPORTED_PROTOCOL_VERSION` or
 *   `TLS_SETUP_FAILED`; the process is killed first.
 */
export async function launchPlugin(options: LaunchPluginOptions): Promise<LaunchedPlugin> {
  const protocolVersions = options.protocolVersions ?? [1];
  const timeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const pluginName = basename(options.path);

  let hostCertificate: AutoMtlsCertificate | undefined;
  if (options.autoMtls === true) {
    const { generateAutoMtlsCertificate } = await import("../plugin/auto-mtls.js");
    hostCertificate = await generateAutoMtlsCertificate();
  }

  // The go-plugin variables of this process's own environment (say, a host that is itself a
  // plugin) must not leak through: a stray PLUGIN_CLIENT_CERT would make the plugin expect TLS.
  const inherited = { ...process.env };
  for (const name of goPluginVariables) delete inherited[name];
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    ...options.env,
    [options.cookieKey]: options.cookieValue,
    [PLUGIN_PROTOCOL_VERSIONS]: protocolVersions.join(","),
    [PLUGIN_MIN_PORT]: String(options.minPort ?? DEFAULT_MIN_PORT),
    [PLUGIN_MAX_PORT]: String(options.maxPort ?? DEFAULT_MAX_PORT),
  };
  if (hostCertificate !== undefined) env[PLUGIN_CLIENT_CERT] = hostCertificate.certPem;
  if (options.socketDir !== undefined) env[PLUGIN_UNIX_SOCKET_DIR] = options.socketDir;
  if (options.multiplex === true) env[PLUGIN_MULTIPLEX_GRPC] = "true";

  // stdin is not passed on: a plugin has no use for the host's terminal input.
  const child = spawn(options.path, options.args ?? [], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });

  // A later spawn or kill error must not become an unhandled 'error' event.
  child.on("error", (error) =>
    options.logger?.warn({ err: error, plugin: pluginName }, "plugin process error"),
  );

  let stderrTail = "";
  const stderrLines = createInterface({ input: child.stderr, crlfDelay: Infinity });
  stderrLines.on("line", (line) => {
    stderrTail = `${stderrTail}${line}\n`.slice(-STDERR_TAIL_BYTES);
    if (options.stderr !== undefined) options.stderr(line);
    else if (options.logger !== undefined) relayStderrLine(options.logger, pluginName, line);
  });

  let killStartedAt: number | undefined;
  const exited = new Promise<PluginExit>((resolve) => {
    child.once("exit", (exitCode, signal) => {
      resolve({
        exitCode,
        signal,
        durationMs: killStartedAt === undefined ? 0 : performance.now() - killStartedAt,
      });
    });
  });

  const fail = (error: PluginError): never => {
    child.kill("SIGKILL");
    throw error;
  };

  // The first stdout line is the handshake; later lines are read and discarded, as go-plugin does.
  const stdoutLines = createInterface({ input: child.stdout, crlfDelay: Infinity });
  let timer: NodeJS.Timeout | undefined;
  const first = await Promise.race([
    new Promise<{ line: string }>((resolve) =>
      stdoutLines.once("line", (line) => resolve({ line })),
    ),
    new Promise<{ startError: Error }>((resolve) =>
      child.once("error", (startError) => resolve({ startError })),
    ),
    // Wait for stderr to close too, so the tail is complete.
    Promise.all([exited, new Promise((resolve) => child.stderr.once("close", resolve))]).then(
      ([exit]) => ({ exit }),
    ),
    new Promise<{ timeout: true }>((resolve) => {
      timer = setTimeout(() => resolve({ timeout: true }), timeoutMs);
    }),
  ]);
  clearTimeout(timer);

  if ("startError" in first) {
    fail(
      new PluginError(
        "PLUGIN_START_FAILED",
        `cannot start plugin ${options.path}: ${first.startError.message}`,
        {
          cause: first.startError,
        },
      ),
    );
  }
  if ("exit" in first) {
    const { exitCode, signal } = first.exit;
    fail(
      new PluginError(
        "PLUGIN_EXITED_EARLY",
        `plugin ${pluginName} exited before the handshake (exit code ${exitCode}, signal ${signal}); stderr:\n${redactSecrets(stderrTail, [])}`,
      ),
    );
  }
  if ("timeout" in first) {
    fail(
      new PluginError(
        "HANDSHAKE_TIMEOUT",
        `plugin ${pluginName} printed no handshake within ${timeoutMs} ms; stderr:\n${redactSecrets(stderrTail, [])}`,
      ),
    );
  }
  const line = (first as { line: string }).line;

  let handshake: HandshakeInfo;
  try {
    handshake = parseHandshakeLine(line);
  } catch (error) {
    return fail(PluginError.from(error, "HANDSHAKE_MALFORMED"));
  }
  if (handshake.protocol !== "grpc") {
    fail(
      new PluginError(
        "UNSUPPORTED_PROTOCOL_VERSION",
        `plugin ${pluginName} speaks ${handshake.protocol}; only grpc is supported`,
      ),
    );
  }
  if (!protocolVersions.includes(handshake.appVersion)) {
    fail(
      new PluginError(
        "UNSUPPORTED_PROTOCOL_VERSION",
        `incompatible API version with plugin: plugin version ${handshake.appVersion}, client versions [${protocolVersions.join(", ")}]`,
      ),
    );
  }

  // go-plugin's client.go: a host that asked for multiplexing refuses a plugin that cannot.
  if (options.multiplex === true && handshake.multiplex !== true) {
    fail(
      new PluginError(
        "HANDSHAKE_MALFORMED",
        "client requested gRPC broker multiplexing but plugin does not support the feature",
      ),
    );
  }

  let credentials = grpc.credentials.createInsecure();
  let channelOptions: grpc.ChannelOptions = {};
  let brokerServerCredentials = grpc.ServerCredentials.createInsecure();
  if (hostCertificate !== undefined) {
    if (handshake.serverCert === undefined) {
      fail(
        new PluginError(
          "TLS_SETUP_FAILED",
          `plugin ${pluginName} did not return a certificate although AutoMTLS was requested`,
        ),
      );
    }
    const { createAutoMtlsClient, decodeCertificateField } = await import("../plugin/auto-mtls.js");
    try {
      ({ credentials, channelOptions } = createAutoMtlsClient(
        handshake.serverCert as string,
        hostCertificate,
      ));
      // Brokered servers on the host: present the host's certificate, require the plugin's.
      brokerServerCredentials = grpc.ServerCredentials.createSsl(
        Buffer.from(decodeCertificateField(handshake.serverCert as string)),
        [
          {
            cert_chain: Buffer.from(hostCertificate.certPem),
            private_key: Buffer.from(hostCertificate.keyPem),
          },
        ],
        true,
      );
    } catch (error) {
      fail(PluginError.from(error, "TLS_SETUP_FAILED"));
    }
  }

  const pluginTarget =
    handshake.network === "unix" ? `unix:${handshake.address}` : handshake.address;
  let address = pluginTarget;
  let mux: { relay: Relay; close(): void } | undefined;
  const streamer = createQueuedStreamer();
  const muxer = options.multiplex === true ? createGrpcMuxer() : undefined;
  if (muxer !== undefined) {
    try {
      mux = await connectMultiplexed(handshake, muxer, env, options.logger);
    } catch (error) {
      fail(PluginError.from(error, "PLUGIN_START_FAILED"));
    }
    address = (mux as { relay: Relay }).relay.target;
  }
  const broker: BrokerEndpoint = createGrpcBroker({
    streamer,
    ...(muxer === undefined ? {} : { muxer }),
    serverCredentials: brokerServerCredentials,
    clientCredentials: credentials,
    channelOptions,
    env,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const createClient = <S extends DescService>(service: S): ServiceClient<S> =>
    createServiceClient(service, address, credentials, channelOptions);

  // Like go-plugin's newGRPCClient, open the broker stream right away; its errors only end it.
  const brokerClient = createClient(GRPCBroker);
  const brokerCall = brokerClient.startStream();
  brokerCall.on("data", (message) => broker.receive(message));
  brokerCall.on("error", () => streamer.detach());
  brokerCall.on("end", () => streamer.detach());
  streamer.attach((message) => brokerCall.write(message));

  let killing: Promise<PluginExit> | undefined;
  const kill = (): Promise<PluginExit> => {
    killing ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      killStartedAt = performance.now();
      // go-plugin's GRPCClient.Close: the broker first, then Shutdown.
      streamer.detach();
      brokerCall.cancel();
      brokerClient.close();
      await broker.close();
      const controller = createClient(GRPCController);
      try {
        await controller.shutdown({}, { deadline: Date.now() + KILL_GRACE_MS });
      } catch {
        // Ignored, as in go-plugin: the process may already be on its way out.
      } finally {
        controller.close();
      }
      const outcome = await Promise.race([exited, delay(KILL_GRACE_MS)]);
      mux?.close();
      if (outcome === "timeout") {
        child.kill("SIGKILL");
        const exit = await exited;
        // A SIGKILLed plugin cannot remove its socket.
        if (handshake.network === "unix") rmSync(handshake.address, { force: true });
        return exit;
      }
      return exited;
    })();
    return killing;
  };

  return {
    process: child,
    handshake,
    address,
    credentials,
    channelOptions,
    createClient,
    broker,
    exited,
    kill,
  };
}
