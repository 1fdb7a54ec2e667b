// The public API of the go-plugin SDK for Node (published as packages/go-plugin). Every export here
// is a commitment: named exports only, no `export *` (style guide §10.1). Code inside this
// repository may import other modules of src/ by path; they are not part of the package's API.
export { isPluginError, PluginError, type PluginErrorCode } from "./errors.js";
export {
  type LaunchedPlugin,
  launchPlugin,
  type LaunchPluginOptions,
  type PluginExit,
} from "./host/launch.js";
export { createHclogLogger, type HclogLoggerOptions } from "./log/hclog-logger.js";
export type { BrokeredConnection, BrokeredServer, GrpcBroker } from "./plugin/broker.js";
export type { PluginEnv } from "./plugin/env.js";
export {
  type ClientCallOptions,
  type ClientMethod,
  type ClientStreamingCall,
  createServiceClient,
  type ServiceClient,
} from "./plugin/grpc-client.js";
export {
  implementService,
  type MethodImplementation,
  type ServiceImplementation,
  type ServiceRegistration,
} from "./plugin/grpc-service.js";
export type { HandshakeInfo, HandshakeNetwork, HandshakeProtocol } from "./plugin/handshake.js";
export {
  type PluginHandshakeConfig,
  servePlugin,
  type ServePluginOptions,
  type ServePluginResult,
  type ShutdownReason,
} from "./plugin/serve.js";
