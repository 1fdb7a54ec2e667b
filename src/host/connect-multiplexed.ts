// The host's end of go-plugin's multiplexed broker (go-plugin >= 1.6, GRPCClientMuxer).
import { connect, type Socket } from "node:net";

import type { Logger } from "pino";

import { PLUGIN_UNIX_SOCKET_DIR } from "../plugin/env.js";
import { type createGrpcMuxer, type Relay, startRelay } from "../plugin/grpc-mux.js";
import type { HandshakeInfo } from "../plugin/handshake.js";

// go-plugin's GRPCClientMuxer: one connection to the plugin carries a yamux session (we are its
// client); every gRPC connection of ours becomes a stream of it through a local relay socket.
export async function connectMultiplexed(
  handshake: HandshakeInfo,
  muxer: ReturnType<typeof createGrpcMuxer>,
  env: NodeJS.ProcessEnv,
  logger: Logger | undefined,
): Promise<{ relay: Relay; close(): void }> {
  const { YamuxSession } = await import("../yamux/session.js");
  const socket = await new Promise<Socket>((resolve, reject) => {
    const connection =
      handshake.network === "unix"
        ? connect({ path: handshake.address })
        : connect({
            host: handshake.address.slice(0, handshake.address.lastIndexOf(":")),
            port: Number(handshake.address.slice(handshake.address.lastIndexOf(":") + 1)),
          });
    connection.once("connect", () => {
      connection.off("error", reject);
      resolve(connection);
    });
    connection.once("error", reject);
  });
  if (handshake.network === "tcp") socket.setKeepAlive(true);
  const session = new YamuxSession(socket, {
    client: true,
    onStream: (stream) => muxer.route(stream),
    onClose: (error) => logger?.debug({ err: error }, "multiplexed connection closed"),
  });
  muxer.attach(session);
  const relay = await startRelay(
    () => Promise.resolve(session.open()),
    { [PLUGIN_UNIX_SOCKET_DIR]: env[PLUGIN_UNIX_SOCKET_DIR] },
    (error) => logger?.warn({ err: error }, "cannot open a multiplexed stream"),
  );
  return {
    relay,
    close: () => {
      relay.stop();
      session.close();
    },
  };
}
