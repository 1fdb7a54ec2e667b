import type { GRPCController } from "../gen/plugin/grpc_controller_pb.js";
import type { ServiceImplementation } from "./grpc-service.js";

/**
 * Implements `plugin.GRPCController`. Shutdown replies `Empty` first and only then calls
 * `requestShutdown`, so the host's call succeeds; go-plugin's `Kill()` ignores the result anyway and
 * SIGKILLs a plugin that has not exited 2 s later.
 */
export function createControllerImplementation(
  requestShutdown: () => void,
): ServiceImplementation<typeof GRPCController> {
  return {
    shutdown(_call, callback) {
      callback(null, {});
      setImmediate(requestShutdown);
    },
  };
}
