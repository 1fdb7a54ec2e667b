// based on hashicorp/go-plugin internal/grpcmux (GRPCServerMuxer, GRPCClientMuxer): every gRPC
// connection between host and plugin, the main one and brokered ones, is a stream of one yamux
// session over the plugin's listener. A knock on the broker stream says which brokered listener the
// next stream from the knocking side belongs to; streams that arrive without one go to the main
// gRPC server (plugin side) or are refused (host side, which serves nothing by default).
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";

import type { YamuxSession } from "../yamux/session.js";
import type { YamuxStream } from "../yamux/stream.js";
import { PLUGIN_UNIX_SOCKET_DIR, type PluginEnv } from "./env.js";
import { createSocketPath } from "./listen.js";

/** Takes one incoming connection, e.g. a grpc-js `ConnectionInjector.injectConnection`. */
export type ConnectionHandler = (connection: Duplex) => void;

/** Routes a yamux session's incoming streams, and opens outgoing ones. */
export interface GrpcMuxer {
  /** Brokered listeners by service id. */
  listen(id: number, handler: ConnectionHandler): void;
  /** Removes a brokered listener. */
  unlisten(id: number): void;
  /** Whether `id` has a listener. */
  isListening(id: number): boolean;
  /**
   * A knock for `id` was accepted: the next stream the peer opens goes to that listener.
   *
   * @throws Error when nothing listens on `id`.
   */
  acceptKnock(id: number): void;
  /** Routes one incoming stream; give it to the session's `onStream`. */
  route(stream: YamuxStream): void;
  /** Opens a stream to the peer. @throws Error before the session exists or after it ended. */
  open(): YamuxStream;
  /** Attaches the session once the host's connection has arrived (plugin side). */
  attach(session: YamuxSession): void;
}

/**
 * Creates a muxer. `fallback` takes streams that arrive without a knock: the main gRPC server on
 * the plugin side; none on the host side, where they are reset.
 */
export function createGrpcMuxer(fallback?: ConnectionHandler): GrpcMuxer {
  const listeners = new Map<number, ConnectionHandler>();
  // go-plugin keeps the knocked id in a channel read by the next Accept; knocks are serialized by
  // the dialing side, so in practice at most one is waiting.
  const knocked: number[] = [];
  let session: YamuxSession | undefined;

  return {
    listen(id, handler) {
      listeners.set(id, handler);
    },
    unlisten(id) {
      listeners.delete(id);
    },
    isListening(id) {
      return listeners.has(id);
    },
    acceptKnock(id) {
      if (!listeners.has(id)) throw new Error(`no listener for id ${id}`);
      knocked.push(id);
    },
    route(stream) {
      const id = knocked.shift();
      const handler = id === undefined ? fallback : listeners.get(id);
      if (handler === undefined) {
        stream.destroy();
        return;
      }
      handler(stream);
    },
    open() {
      if (session === undefined) throw new Error("the host has not connected yet");
      return session.open();
    },
    attach(attached) {
      session = attached;
    },
  };
}

/** A local socket whose every connection is carried over a multiplexed stream. */
export interface Relay {
  /** grpc-js target of the local socket. */
  target: string;
  /** Stops accepting and removes the socket. */
  stop(): void;
}

/**
 * grpc-js cannot dial a Duplex, so a private unix socket (in a fresh 0700 directory under
 * `PLUGIN_UNIX_SOCKET_DIR` or the temp dir) relays each connection grpc-js makes onto a stream
 * from `open`, e.g. a yamux stream, after a knock where one is needed.
 */
export async function startRelay(
  open: () => Promise<Duplex>,
  env: PluginEnv,
  onError: (error: unknown) => void,
): Promise<Relay> {
  const dir = mkdtempSync(join(env[PLUGIN_UNIX_SOCKET_DIR] || tmpdir(), "relay-"));
  const path = createSocketPath(dir) ?? join(dir, "r.sock");
  const server = createServer((local) => {
    local.pause();
    open().then(
      (remote) => {
        const end = (): void => {
          local.destroy();
          remote.destroy();
        };
        local.once("error", end).once("close", end);
        remote.once("error", end).once("close", end);
        local.pipe(remote).pipe(local);
        local.resume();
      },
      (error: unknown) => {
        onError(error);
        local.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ path }, resolve);
  });
  return {
    target: `unix:${path}`,
    stop: () => {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
