import type { Logger } from "pino";

import type { GRPCBroker } from "../gen/plugin/grpc_broker_pb.js";
import type { ServiceImplementation } from "./grpc-service.js";
import type { OpenStreams } from "./open-streams.js";

/**
 * Implements `plugin.GRPCBroker` as an accept-and-hold stub. Every host opens StartStream in the
 * background and ignores its errors; it matters only to applications that broker extra
 * connections, which this SDK does not support. Offers from the host are logged and dropped; the
 * stream ends when the host ends its side.
 */
export function createBrokerImplementation(
  streams: OpenStreams,
  logger: Logger,
): ServiceImplementation<typeof GRPCBroker> {
  return {
    startStream(call) {
      call.on("data", (info: { serviceId: number; network: string; address: string }) => {
        logger.debug(
          { service_id: info.serviceId, network: info.network, address: info.address },
          "ignoring go-plugin broker offer: brokering is not supported",
        );
      });
      call.on("end", () => call.end());
      streams.hold(call);
    },
  };
}
