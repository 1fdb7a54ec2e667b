import * as grpc from "@grpc/grpc-js";

import type { Health } from "../gen/grpc/health/v1/health_pb.js";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import type { ServiceImplementation } from "./grpc-service.js";
import type { OpenStreams } from "./open-streams.js";

/** The service name go-plugin's `Client.Ping()` checks. */
export const PLUGIN_HEALTH_SERVICE = "plugin";

/**
 * Implements `grpc.health.v1.Health` like grpc-go's health server as go-plugin configures it:
 * `""` (the whole server) and `"plugin"` are SERVING; any other name fails Check with NOT_FOUND
 * and gets SERVICE_UNKNOWN on Watch. Watch streams stay open and report NOT_SERVING when the
 * server shuts down.
 */
export function createHealthImplementation(
  streams: OpenStreams,
  servingServices: ReadonlySet<string> = new Set(["", PLUGIN_HEALTH_SERVICE]),
): ServiceImplementation<typeof Health> {
  return {
    check(call, callback) {
      if (servingServices.has(call.request.service)) {
        callback(null, { status: ServingStatus.SERVING });
      } else {
        callback({ code: grpc.status.NOT_FOUND, details: "unknown service" });
      }
    },
    watch(call) {
      const status: ServingStatus = servingServices.has(call.request.service)
        ? ServingStatus.SERVING
        : ServingStatus.SERVICE_UNKNOWN;
      call.write({ status });
      streams.hold(call, () => {
        call.write({ status: ServingStatus.NOT_SERVING });
      });
    },
  };
}
