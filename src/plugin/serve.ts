// based on hashicorp/go-plugin server.go (Serve) and grpc_server.go.
import { writeSync } from "node:fs";
import { createServer } from "node:net";
import { format } from "node:util";

import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { symbols as pinoSymbols } from "pino";

import { PluginError } from "../errors.js";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { GRPCBroker } from "../gen/plugin/grpc_broker_pb.js";
import { GRPCController } from "../gen/plugin/grpc_controller_pb.js";
import { GRPCStdio } from "../gen/plugin/grpc_stdio_pb.js";
import { createHclogLogger } from "../log/hclog-logger.js";
import {
  createBrokerImplementation,
  createGrpcBroker,
  createQueuedStreamer,
  type GrpcBroker,
} from "./broker.js";
import { createControllerImplementation } from "./controller.js";
import {
  PLUGIN_CLIENT_CERT,
  PLUGIN_MULTIPLEX_GRPC,
  PLUGIN_PROTOCOL_VERSIONS,
  type PluginEnv,
} from "./env.js";
import { createGrpcMuxer, type GrpcMuxer } from "./grpc-mux.js";
import { createServiceDefinition, type ServiceRegistration } from "./grpc-service.js";
import {
  checkMagicCookie,
  CORE_PROTOCOL_VERSION,
  formatHandshakeLine,
  type HandshakeNetwork,
  negotiateProtocolVersion,
  NOT_A_PLUGIN_MESSAGE,
  parseGoBool,
} from "./handshake.js";
import { createHealthImplementation } from "./health.js";
import { watchHost } from "./host-watch.js";
import { bindListener, grpcBindable, netBindable, type PluginListener } from "./listen.js";
import { createOpenStreams } from "./open-streams.js";
import { createStdioImplementation } from "./stdio.js";

/** Why the plugin is stopping. */
export type ShutdownReason = "shutdown-rpc" | "sigterm" | "host-gone";

/** The application's go-plugin handshake settings; both sides must agree on them. */
export interface PluginHandshakeConfig {
  /** Environment variable holding the magic cookie. */
  cookieKey: string;
  /** Its expected value. */
  cookieValue: string;
  /** App protocol versions this plugin speaks; the highest one the host offers wins. */
  appProtocolVersions: readonly number[];
}

/** Options for {@link servePlugin}. */
export interface ServePluginOptions {
  /** Cookie and protocol versions. */
  handshake: PluginHandshakeConfig;
  /** Application services, built with `implementService()`. */
  services?: readonly ServiceRegistration[];
  /** hclog-style logger; default `createHclogLogger()` on stderr. */
  logger?: Logger;
  /**
   * Called once before the server stops; bounded by `shutdownTimeoutMs`, because a go-plugin host
   * SIGKILLs the plugin 2 s after asking it to shut down.
   */
  onShutdown?: (reason: ShutdownReason) => Promise<void> | void;
  /** Bound for `onShutdown`; default 1500 ms. */
  shutdownTimeoutMs?: number;
  /** Environment to read the `PLUGIN_*` variables and the cookie from; default `process.env`. */
  env?: PluginEnv;
  /** Where the handshake line goes; default a synchronous write to fd 1. */
  stdout?: NodeJS.WritableStream;
  /**
   * In-process test mode, like go-plugin's `ServeConfig.Test`: no cookie check, no handshake line,
   * no signal handlers or host watch, never `process.exit()`; failures reject instead.
   */
  test?: boolean;
}

/** What {@link servePlugin} bound. */
export interface ServePluginResult {
  /** Handshake field 3. */
  network: HandshakeNetwork;
  /** Handshake field 4: socket path or `127.0.0.1:port`. */
  address: string;
  /** grpc-js target for {@link address}: `unix:/path` or `127.0.0.1:port`. */
  target: string;
  /** The negotiated app protocol version (handshake field 2). */
  protocolVersion: number;
  /**
   * Whether the host asked for go-plugin's multiplexed broker (`PLUGIN_MULTIPLEX_GRPC`); then the
   * listener speaks yamux and {@link target} is not dialable by a plain gRPC client.
   */
  multiplexed: boolean;
  /** go-plugin's GRPCBroker: extra connections to and from the host, by service id. */
  broker: GrpcBroker;
  /** Handshake field 6 under AutoMTLS, else undefined. */
  serverCert: string | undefined;
  /** Settles once the server has stopped, with the reason (undefined after {@link close}). */
  closed: Promise<ShutdownReason | undefined>;
  /** Stops the server without calling `onShutdown`, and removes the socket. */
  close(): Promise<void>;
}

const DEFAULT_SHUTDOWN_TIMEOUT_MS = 1500;
// Graceful stop gets this long before in-flight calls are cut off.
const SERVER_STOP_GRACE_MS = 250;
// The host SIGKILLs at 2 s; exit on our own terms before that.
const EXIT_DEADLINE_MS = 1800;

const unlimitedMessages: grpc.ServerOptions = {
  "grpc.max_receive_message_length": -1,
  "grpc.max_send_message_length": -1,
};

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

// One synchronous write, retried on a short write or a full pipe, so the line is complete before
// anything else can run.
function writeLineSync(fd: number, text: string): void {
  let bytes = Buffer.from(text);
  while (bytes.length > 0) {
    try {
      bytes = bytes.subarray(writeSync(fd, bytes));
    } catch (error) {
      if ((error as { code?: unknown }).code !== "EAGAIN") throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

function stopServer(server: grpc.Server): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, SERVER_STOP_GRACE_MS);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

// grpc-js logs to console.error in its own format; re-log through hclog so the host keeps levels.
function routeGrpcLogs(logger: Logger): void {
  const child = logger.child({ "@module": "grpc-js" });
  grpc.setLogger({
    error: (...args: unknown[]) => child.warn(format(...args)),
    info: (...args: unknown[]) => child.debug(format(...args)),
    debug: (...args: unknown[]) => child.trace(format(...args)),
  });
}

function loggerStream(logger: Logger): NodeJS.EventEmitter[] {
  const stream = (logger as unknown as Record<symbol, unknown>)[pinoSymbols.streamSym];
  return typeof (stream as NodeJS.EventEmitter | undefined)?.on === "function"
    ? [stream as NodeJS.EventEmitter]
    : [];
}

// go-plugin's GRPCServerMuxer: the host's first connection carries a yamux session whose streams
// are all the gRPC connections; the listener accepts nothing after it.
async function listenMultiplexed(
  muxer: GrpcMuxer,
  env: PluginEnv,
  logger: Logger,
): Promise<{ listener: PluginListener; close(): void }> {
  const { YamuxSession } = await import("../yamux/session.js");
  let session: InstanceType<typeof YamuxSession> | undefined;
  const netServer = createServer((socket) => {
    if (session !== undefined) {
      logger.debug("refusing a second connection to the multiplexed listener");
      socket.destroy();
      return;
    }
    logger.debug("multiplexed connection accepted");
    session = new YamuxSession(socket, {
      client: false,
      onStream: (stream) => muxer.route(stream),
      onClose: (error) => logger.debug({ err: error }, "multiplexed connection closed"),
    });
    muxer.attach(session);
  });
  const listener = await bindListener(netBindable(netServer), { env, logger });
  return {
    listener,
    close: () => {
      session?.close();
      netServer.close();
    },
  };
}

/**
 * Serves a go-plugin gRPC plugin; the one entry point for plugin binaries.
 *
 * In order: checks the magic cookie (on mismatch prints go-plugin's message to stderr and exits 1,
 * with nothing on stdout), negotiates the app protocol version, sets up AutoMTLS when
 * `PLUGIN_CLIENT_CERT` is set, serves Health, GRPCController, GRPCStdio, GRPCBroker and the
 * application services, binds (unix socket, else loopback TCP), and only then writes the handshake
 * line as the first and only bytes on stdout.
 *
 * Afterwards it ignores SIGINT (a terminal's Ctrl-C reaches the whole process group; the host owns
 * the lifecycle), and on GRPCController/Shutdown, SIGTERM or a vanished host it runs `onShutdown`,
 * stops the server, removes the socket and exits 0, all within 2 s. Startup failures are logged and
 * exit 1.
 */
export async function servePlugin(options: ServePluginOptions): Promise<ServePluginResult> {
  const test = options.test === true;
  const parentPid = process.ppid;
  const env = options.env ?? process.env;
  const logger = options.logger ?? createHclogLogger();
  const { cookieKey, cookieValue, appProtocolVersions } = options.handshake;

  if (cookieKey === "" || cookieValue === "") {
    const error = new PluginError(
      "PLUGIN_MISCONFIGURED",
      "Misconfigured ServeConfig given to serve this plugin: no magic cookie key or value was set. " +
        "Please notify the plugin author and report this as a bug.",
    );
    if (test) throw error;
    writeLineSync(2, `${error.message}\n`);
    process.exit(1);
  }
  if (!test && !checkMagicCookie(env, cookieKey, cookieValue)) {
    writeLineSync(2, NOT_A_PLUGIN_MESSAGE);
    process.exit(1);
  }

  let server: grpc.Server | undefined;
  let listener: PluginListener | undefined;
  let mux: Awaited<ReturnType<typeof listenMultiplexed>> | undefined;
  try {
    if (!test) routeGrpcLogs(logger);
    const protocolVersion = negotiateProtocolVersion(
      env[PLUGIN_PROTOCOL_VERSIONS],
      appProtocolVersions,
      // go-plugin's server prints "server sent invalid plugin version" and goes on.
      (entry) => logger.warn({ version: entry }, "server sent invalid plugin version"),
    );

    let credentials = grpc.ServerCredentials.createInsecure();
    let clientCredentials = grpc.credentials.createInsecure();
    let channelOptions: grpc.ChannelOptions = {};
    let serverCert: string | undefined;
    const clientCert = env[PLUGIN_CLIENT_CERT];
    if (clientCert !== undefined && clientCert !== "") {
      const { createAutoMtlsServer } = await import("./auto-mtls.js");
      const mtls = await createAutoMtlsServer(clientCert);
      ({ credentials, serverCert } = mtls);
      ({ credentials: clientCredentials, channelOptions } = mtls.client);
    }
    // As go-plugin's server: multiplex when the variable parses as true; announce field 7 whenever
    // it is set at all (older hosts would read a 7th field as part of the 6th).
    const multiplexSetting = env[PLUGIN_MULTIPLEX_GRPC] ?? "";
    const multiplexed = parseGoBool(multiplexSetting) === true;

    const plugin = new grpc.Server(unlimitedMessages);
    server = plugin;
    const streams = createOpenStreams();
    let muxer: GrpcMuxer | undefined;
    if (multiplexed) {
      const injector = plugin.createConnectionInjector(credentials);
      muxer = createGrpcMuxer((connection) => injector.injectConnection(connection));
    }
    const streamer = createQueuedStreamer();
    const broker = createGrpcBroker({
      streamer,
      ...(muxer === undefined ? {} : { muxer }),
      serverCredentials: credentials,
      clientCredentials,
      channelOptions,
      env,
      logger,
    });
    let shutdownStarted: Promise<void> | undefined;
    let resolveClosed: (reason: ShutdownReason | undefined) => void = () => {};
    const closed = new Promise<ShutdownReason | undefined>((resolve) => {
      resolveClosed = resolve;
    });

    const shutdown = (reason: ShutdownReason | undefined): Promise<void> => {
      shutdownStarted ??= (async () => {
        logger.info({ reason: reason ?? "close" }, "plugin shutting down");
        if (!test) {
          setTimeout(() => {
            logger.error("plugin shutdown overran its deadline, exiting");
            listener?.cleanup();
            process.exit(0);
          }, EXIT_DEADLINE_MS).unref();
        }
        if (reason !== undefined && options.onShutdown !== undefined) {
          const bound = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
          const outcome = await Promise.race([
            Promise.resolve()
              .then(() => options.onShutdown?.(reason))
              .then(
                () => "done" as const,
                (error: unknown) => {
                  logger.error({ err: error }, "onShutdown failed");
                  return "done" as const;
                },
              ),
            delay(bound).then(() => "timeout" as const),
          ]);
          if (outcome === "timeout") logger.warn({ timeout_ms: bound }, "onShutdown timed out");
        }
        streams.endAll();
        await broker.close();
        await stopServer(plugin);
        mux?.close();
        listener?.cleanup();
        resolveClosed(reason);
        if (!test) process.exit(0);
      })();
      return shutdownStarted;
    };

    plugin.addService(createServiceDefinition(Health), createHealthImplementation(streams));
    plugin.addService(
      createServiceDefinition(GRPCController),
      createControllerImplementation(() => void shutdown("shutdown-rpc")),
    );
    plugin.addService(createServiceDefinition(GRPCStdio), createStdioImplementation(streams));
    plugin.addService(
      createServiceDefinition(GRPCBroker),
      createBrokerImplementation(streams, streamer, broker),
    );
    for (const { service, implementation } of options.services ?? []) {
      plugin.addService(createServiceDefinition(service), implementation);
    }

    if (muxer === undefined) {
      listener = await bindListener(grpcBindable(plugin, credentials), { env, logger });
    } else {
      mux = await listenMultiplexed(muxer, env, logger);
      listener = mux.listener;
    }
    const bound = listener;

    if (!test) {
      // Installed before the handshake: a host may signal as soon as it has read the line, and a
      // signal without a handler kills the process outright.
      process.on("SIGINT", () => logger.debug("plugin received interrupt signal, ignoring"));
      process.on("SIGTERM", () => void shutdown("sigterm"));

      const line = formatHandshakeLine({
        coreVersion: CORE_PROTOCOL_VERSION,
        appVersion: protocolVersion,
        network: bound.network,
        address: bound.address,
        protocol: "grpc",
        ...(serverCert === undefined ? {} : { serverCert }),
        ...(multiplexSetting === "" ? {} : { multiplex: multiplexed }),
      });
      if (options.stdout === undefined) writeLineSync(1, `${line}\n`);
      else options.stdout.write(`${line}\n`);

      watchHost({
        parentPid,
        onGone: (cause) => {
          logger.warn({ cause }, "plugin host is gone");
          void shutdown("host-gone");
        },
        streams: [process.stdout, process.stderr, ...loggerStream(logger)],
      });
    }
    logger.debug(
      { network: bound.network, address: bound.address, protocol_version: protocolVersion },
      "plugin server started",
    );

    return {
      network: bound.network,
      address: bound.address,
      target: bound.target,
      protocolVersion,
      multiplexed,
      broker,
      serverCert,
      closed,
      close: () => shutdown(undefined),
    };
  } catch (error) {
    server?.forceShutdown();
    mux?.close();
    listener?.cleanup();
    const failure = PluginError.from(error);
    if (test) throw failure;
    logger.error({ err: failure, code: failure.code }, "plugin failed to start");
    process.exit(1);
  }
}
