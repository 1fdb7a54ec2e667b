// plexum.provider.v1.ProviderPlugin as a handler table (terraform-plugin-go's tf6server): each
// method converts the request (from-proto.ts), calls the plugin's core or its turn engine, and
// converts the reply (to-proto.ts). Nothing else happens here.
import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";

import { ProviderPlugin } from "../../src/gen/plexum/provider/v1/provider_pb.js";
import { implementService, type ServiceImplementation } from "../../src/plugin/grpc-service.js";
import type { ProviderCore } from "../app/provider-core.js";
import type { Engine } from "../turn/turn-engine.js";
import {
  agentIdFromProto,
  blockIdsFromProto,
  cancelReasonFromProto,
  compactModelFromProto,
  configFromProto,
} from "./from-proto.js";
import { serviceError } from "./grpc-status.js";
import { PLUGIN_NAME, PROVIDER_PROTOCOL_VERSION } from "./plugin-identity.js";
import {
  cancelToProto,
  compactToProto,
  configureToProto,
  consumeToProto,
  infoToProto,
  modelsToProto,
  resetToProto,
  usageReportToProto,
} from "./to-proto.js";
import { serveTurnStream } from "./turn-stream.js";

export interface ProviderServiceOptions {
  logger: Logger;
  /** The plugin's own version. */
  version: string;
  /** The plugin's core, loaded on first use so that the handshake does not wait for it. */
  core: () => Promise<ProviderCore>;
}

type Unary<Req, Res> = (
  call: grpc.ServerUnaryCall<Req, Res>,
  callback: grpc.sendUnaryData<Res>,
) => void;

// A unary handler from a request → reply function; a failure becomes the call's gRPC status.
function unary<Req, Res>(handle: (request: Req) => Promise<Res>): Unary<Req, Res> {
  return (call, callback) => {
    handle(call.request).then(
      (reply) => callback(null, reply),
      (error: unknown) => callback(serviceError(error)),
    );
  };
}

/** The provider service of the plugin. */
export class ProviderService {
  readonly #options: ProviderServiceOptions;

  constructor(options: ProviderServiceOptions) {
    this.#options = options;
  }

  /** The service definition and handlers for the gRPC server. */
  definition(): ReturnType<typeof implementService> {
    return implementService(ProviderPlugin, this.implementation());
  }

  /** The typed handlers. */
  implementation(): ServiceImplementation<typeof ProviderPlugin> {
    const { core, version, logger } = this.#options;
    const engine = async (): Promise<Engine> => (await core()).engine();
    const identity = { name: PLUGIN_NAME, version, protocolVersion: PROVIDER_PROTOCOL_VERSION };
    return {
      getInfo: unary(async () => infoToProto(await (await core()).info(), identity)),
      configure: unary(async (request) =>
        configureToProto(await (await core()).configure(configFromProto(request.configJson))),
      ),
      listModels: unary(async () => modelsToProto(await (await core()).models())),
      runTurn: (call) => void serveTurnStream(call, engine, logger),
      cancelTurn: unary(async (request) => {
        const agentId = agentIdFromProto(request.agentId);
        const reason = cancelReasonFromProto(
          request.reason,
          "cancelled",
          "cancelled by the host (CancelTurn)",
        );
        return cancelToProto((await engine()).cancelTurn(agentId, reason));
      }),
      resetThread: unary(async (request) =>
        resetToProto(await (await engine()).resetThread(agentIdFromProto(request.agentId))),
      ),
      getUsage: unary(async (request) =>
        usageReportToProto(await (await engine()).usage(agentIdFromProto(request.agentId))),
      ),
      consume: unary(async (request) =>
        consumeToProto(
          await (
            await engine()
          ).consume(agentIdFromProto(request.agentId), blockIdsFromProto(request.blockIds)),
        ),
      ),
      compactThread: unary(async (request) =>
        compactToProto(
          await (
            await engine()
          ).compactThread(agentIdFromProto(request.agentId), compactModelFromProto(request.model)),
        ),
      ),
    };
  }
}
