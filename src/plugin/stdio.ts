import type { GRPCStdio } from "../gen/plugin/grpc_stdio_pb.js";
import type { ServiceImplementation } from "./grpc-service.js";
import type { OpenStreams } from "./open-streams.js";

/**
 * Implements `plugin.GRPCStdio`. Hosts since go-plugin 1.1 open StreamStdio once, right after
 * dialing, to copy a Go plugin's redirected stdout/stderr. This plugin logs to its real stderr,
 * so the stream is held open and sends nothing; without the service the host logs a warning.
 */
export function createStdioImplementation(
  streams: OpenStreams,
): ServiceImplementation<typeof GRPCStdio> {
  return {
    streamStdio(call) {
      streams.hold(call);
    },
  };
}
