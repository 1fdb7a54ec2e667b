// based on hashicorp/go-plugin grpc_broker.go (GRPCBroker: Accept, AcceptAndServe, Dial, knock,
// listenForKnocks, Run). Both ends of a go-plugin connection own one: the host opens
// plugin.GRPCBroker/StartStream on the plugin, and ConnInfo messages flow both ways over it.
import type { Duplex } from "node:stream";

import type { DescService, MessageInitShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";

import { PluginError } from "../errors.js";
import type { ConnInfo, ConnInfoSchema, GRPCBroker } from "../gen/plugin/grpc_broker_pb.js";
import type { PluginEnv } from "./env.js";
import { createServiceClient, type ServiceClient } from "./grpc-client.js";
import { type GrpcMuxer, type Relay, startRelay } from "./grpc-mux.js";
import {
  createServiceDefinition,
  type ServiceImplementation,
  type ServiceRegistration,
} from "./grpc-service.js";
import { bindPluginListener } from "./listen.js";
import type { OpenStreams } from "./open-streams.js";

/** A gRPC server the broker runs for one service id; see {@link GrpcBroker.acceptAndServe}. */
export interface BrokeredServer {
  /** The service id it serves. */
  readonly id: number;
  /** Stops serving; connections in flight are cut. */
  close(): Promise<void>;
}

/** A connection to what the other side serves under one id; see {@link GrpcBroker.dial}. */
export interface BrokeredConnection {
  /** The service id. */
  readonly id: number;
  /** A typed client for one of the services behind the id. */
  createClient<S extends DescService>(service: S): ServiceClient<S>;
  /** Closes what {@link createClient} does not: the local relay socket under multiplexing. */
  close(): void;
}

/**
 * go-plugin's `GRPCBroker` for Node: extra gRPC connections between host and plugin, each known by
 * a service id that the application passes inside its own messages (get one from
 * {@link nextId}). With a multiplexing host (go-plugin >= 1.6, `PLUGIN_MULTIPLEX_GRPC`) they are
 * streams of the one connection, announced by a knock; otherwise each is a socket of its own,
 * announced by its address.
 */
export interface GrpcBroker {
  /** A fresh service id: 1, 2, 3, … per broker, as go-plugin's `NextId`. */
  nextId(): number;
  /** Serves `services` under `id` until closed (go-plugin's `AcceptAndServe`). */
  acceptAndServe(id: number, services: readonly ServiceRegistration[]): Promise<BrokeredServer>;
  /**
   * Connects to what the other side serves under `id` (go-plugin's `Dial`). Without multiplexing
   * this waits up to 5 s for the other side's address; with it, every connection grpc-js makes
   * knocks first and fails if the other side does not acknowledge within 5 s.
   */
  dial(id: number): Promise<BrokeredConnection>;
}

/** How a broker's messages leave. Messages sent before the stream exists wait for it. */
export interface BrokerStreamer {
  send(message: MessageInitShape<typeof ConnInfoSchema>): void;
}

/** What a broker needs; see {@link createGrpcBroker}. */
export interface GrpcBrokerOptions {
  streamer: BrokerStreamer;
  /** Present when the connection is multiplexed. */
  muxer?: GrpcMuxer;
  /** Credentials brokered servers serve with (AutoMTLS, or insecure). */
  serverCredentials: grpc.ServerCredentials;
  /** Credentials and options brokered clients dial with. */
  clientCredentials: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
  /** Where brokered sockets go (`PLUGIN_UNIX_SOCKET_DIR`, the port range). */
  env: PluginEnv;
  logger?: Logger;
}

/** The broker plus the entry for messages from the stream. */
export interface BrokerEndpoint extends GrpcBroker {
  /** Feeds a message that arrived on the broker stream (go-plugin's `Run`). */
  receive(message: ConnInfo): void;
  /** Stops every brokered server and relay. */
  close(): Promise<void>;
}

// go-plugin waits this long for connection info and for knock acknowledgements, and keeps an
// unclaimed message this long.
const BROKER_TIMEOUT_MS = 5000;

const unlimitedMessages: grpc.ServerOptions = {
  "grpc.max_receive_message_length": -1,
  "grpc.max_send_message_length": -1,
};

interface Parked {
  message: ConnInfo;
  timer: NodeJS.Timeout;
}

/** Creates one side's broker. */
export function createGrpcBroker(options: GrpcBrokerOptions): BrokerEndpoint {
  const { streamer, muxer, logger } = options;
  let lastId = 0;
  // Connection info and knock acknowledgements, by id, for dial (go-plugin's clientStreams).
  const parked = new Map<number, Parked>();
  const waiting = new Map<number, (message: ConnInfo) => void>();
  // Knocks that arrived before their listener (go-plugin's serverStreams buffer).
  const earlyKnocks = new Map<number, NodeJS.Timeout>();
  const servers = new Set<BrokeredServer>();
  const relays = new Set<() => void>();
  // go-plugin's dialMutex: one knock-and-open at a time, so each stream meets its own knock.
  let dialQueue: Promise<void> = Promise.resolve();

  const sendAck = (id: number, error: string): void =>
    streamer.send({ serviceId: id, knock: { knock: true, ack: true, error } });

  const answerKnock = (id: number): void => {
    let error = "";
    try {
      muxer?.acceptKnock(id);
    } catch (cause) {
      error = (cause as Error).message;
    }
    sendAck(id, error);
  };

  const awaitMessage = (id: number, what: string): Promise<ConnInfo> => {
    const early = parked.get(id);
    if (early !== undefined) {
      clearTimeout(early.timer);
      parked.delete(id);
      return Promise.resolve(early.message);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new PluginError("BROKER_TIMEOUT", `timeout waiting for ${what} (id ${id})`));
      }, BROKER_TIMEOUT_MS);
      waiting.set(id, (message) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(message);
      });
    });
  };

  // One knock, acknowledged, then a fresh stream: go-plugin's muxDial.
  const knockAndOpen = (id: number): Promise<Duplex> => {
    const attempt = dialQueue.then(async () => {
      streamer.send({ serviceId: id, knock: { knock: true, ack: false, error: "" } });
      const ack = await awaitMessage(id, "multiplexing knock acknowledgement");
      if (ack.knock === undefined || !ack.knock.knock || !ack.knock.ack) {
        throw new PluginError("BROKER_FAILED", `handshake failed for multiplexing on id ${id}`);
      }
      if (ack.knock.error !== "") {
        throw new PluginError("BROKER_FAILED", `failed to knock for id ${id}: ${ack.knock.error}`);
      }
      return (muxer as GrpcMuxer).open();
    });
    dialQueue = attempt.then(
      () => undefined,
      () => undefined,
    );
    return attempt;
  };

  const startKnockingRelay = async (id: number): Promise<Relay> => {
    const relay = await startRelay(
      () => knockAndOpen(id),
      options.env,
      (error) => logger?.warn({ err: error, service_id: id }, "brokered dial failed"),
    );
    const stop = relay.stop;
    relay.stop = () => {
      relays.delete(relay.stop);
      stop();
    };
    relays.add(relay.stop);
    return relay;
  };

  const newServer = (services: readonly ServiceRegistration[]): grpc.Server => {
    const server = new grpc.Server(unlimitedMessages);
    for (const { service, implementation } of services) {
      server.addService(createServiceDefinition(service), implementation);
    }
    return server;
  };

  const track = (server: BrokeredServer): BrokeredServer => {
    servers.add(server);
    return server;
  };

  return {
    nextId: () => ++lastId,

    async acceptAndServe(id, services) {
      const server = newServer(services);
      if (muxer !== undefined) {
        const injector = server.createConnectionInjector(options.serverCredentials);
        muxer.listen(id, (connection) => injector.injectConnection(connection));
        const early = earlyKnocks.get(id);
        if (early !== undefined) {
          clearTimeout(early);
          earlyKnocks.delete(id);
          answerKnock(id);
        }
        const brokered: BrokeredServer = {
          id,
          close: async () => {
            servers.delete(brokered);
            muxer.unlisten(id);
            injector.destroy();
            server.forceShutdown();
          },
        };
        return track(brokered);
      }
      const listener = await bindPluginListener(server, options.serverCredentials, {
        env: options.env,
        ...(logger === undefined ? {} : { logger }),
      });
      streamer.send({ serviceId: id, network: listener.network, address: listener.address });
      const brokered: BrokeredServer = {
        id,
        close: async () => {
          servers.delete(brokered);
          server.forceShutdown();
          listener.cleanup();
        },
      };
      return track(brokered);
    },

    async dial(id) {
      let target: string;
      let stop = (): void => {};
      if (muxer !== undefined) {
        ({ target, stop } = await startKnockingRelay(id));
      } else {
        const info = await awaitMessage(id, "connection info");
        if (info.network === "unix") target = `unix:${info.address}`;
        else if (info.network === "tcp") target = info.address;
        else throw new PluginError("BROKER_FAILED", `Unknown address type: ${info.address}`);
      }
      return {
        id,
        createClient: (service) =>
          createServiceClient(service, target, options.clientCredentials, options.channelOptions),
        close: stop,
      };
    },

    receive(message) {
      const id = message.serviceId;
      if (message.knock !== undefined && message.knock.knock && !message.knock.ack) {
        if (muxer?.isListening(id) === true) {
          answerKnock(id);
        } else {
          // Accept may come later, as in go-plugin; the dialer gives up after 5 s anyway.
          clearTimeout(earlyKnocks.get(id));
          earlyKnocks.set(id, setTimeout(() => earlyKnocks.delete(id), BROKER_TIMEOUT_MS).unref());
        }
        return;
      }
      const waiter = waiting.get(id);
      if (waiter !== undefined) {
        waiter(message);
        return;
      }
      clearTimeout(parked.get(id)?.timer);
      parked.set(id, {
        message,
        timer: setTimeout(() => parked.delete(id), BROKER_TIMEOUT_MS).unref(),
      });
    },

    async close() {
      for (const timer of earlyKnocks.values()) clearTimeout(timer);
      for (const { timer } of parked.values()) clearTimeout(timer);
      for (const stop of [...relays]) stop();
      await Promise.all([...servers].map((server) => server.close()));
    },
  };
}

/** A {@link BrokerStreamer} that queues messages until a stream is attached. */
export interface QueuedStreamer extends BrokerStreamer {
  /** Sends through `write` from now on, the queue first. */
  attach(write: (message: MessageInitShape<typeof ConnInfoSchema>) => void): void;
  /** Queues again (the stream ended). */
  detach(): void;
}

/** Creates a {@link QueuedStreamer}: go-plugin's Send also blocks until StartStream runs. */
export function createQueuedStreamer(): QueuedStreamer {
  let queue: MessageInitShape<typeof ConnInfoSchema>[] = [];
  let writer: ((message: MessageInitShape<typeof ConnInfoSchema>) => void) | undefined;
  return {
    send(message) {
      if (writer === undefined) queue.push(message);
      else writer(message);
    },
    attach(write) {
      writer = write;
      const queued = queue;
      queue = [];
      for (const message of queued) write(message);
    },
    detach() {
      writer = undefined;
    },
  };
}

/**
 * Implements the plugin side of `plugin.GRPCBroker/StartStream`: the host opens it once, right
 * after connecting; the stream carries the broker's messages both ways and ends when the host ends
 * its side.
 */
export function createBrokerImplementation(
  streams: OpenStreams,
  streamer: QueuedStreamer,
  broker: BrokerEndpoint,
): ServiceImplementation<typeof GRPCBroker> {
  return {
    startStream(call) {
      streamer.attach((message) => call.write(message));
      call.on("data", (message: ConnInfo) => broker.receive(message));
      call.on("end", () => {
        streamer.detach();
        call.end();
      });
      streams.hold(call, () => streamer.detach());
    },
  };
}
