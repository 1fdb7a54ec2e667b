// The public API of the plugin SDK. Every export here is a commitment: named exports only, no
// `export *` (style guide §10.1).
export { isPluginError, PluginError, type PluginErrorCode } from "./errors.js";
export {
  type LaunchedPlugin,
  launchPlugin,
  type LaunchPluginOptions,
  type PluginExit,
} from "./host/launch.js";
export { createHclogLogger, type HclogLoggerOptions } from "./log/hclog-logger.js";
export { currentEpochMs, formatHclogTimestamp } from "./log/hclog-timestamp.js";
export { REDACTED, redactPaths, redactSecrets } from "./log/redact.js";
export {
  type AutoMtlsCertificate,
  type AutoMtlsClient,
  type AutoMtlsServer,
  createAutoMtlsClient,
  createAutoMtlsServer,
  decodeCertificateField,
  encodeCertificateField,
  generateAutoMtlsCertificate,
} from "./plugin/auto-mtls.js";
export {
  DEFAULT_MAX_PORT,
  DEFAULT_MIN_PORT,
  PLUGIN_CLIENT_CERT,
  PLUGIN_MAX_PORT,
  PLUGIN_MIN_PORT,
  PLUGIN_MULTIPLEX_GRPC,
  PLUGIN_PROTOCOL_VERSIONS,
  PLUGIN_UNIX_SOCKET_DIR,
  PLUGIN_UNIX_SOCKET_GROUP,
  type PluginEnv,
} from "./plugin/env.js";
export {
  type ClientCallOptions,
  type ClientMethod,
  type ClientStreamingCall,
  createServiceClient,
  type ServiceClient,
} from "./plugin/grpc-client.js";
export {
  createServiceDefinition,
  deserializeMessage,
  implementService,
  type MethodImplementation,
  serializeMessage,
  type ServiceImplementation,
  type ServiceRegistration,
} from "./plugin/grpc-service.js";
export {
  checkMagicCookie,
  CORE_PROTOCOL_VERSION,
  formatHandshakeLine,
  type HandshakeInfo,
  type HandshakeNetwork,
  type HandshakeProtocol,
  negotiateProtocolVersion,
  NOT_A_PLUGIN_MESSAGE,
  parseHandshakeLine,
} from "./plugin/handshake.js";
export { PLUGIN_HEALTH_SERVICE } from "./plugin/health.js";
export {
  bindPluginListener,
  type BindPluginListenerOptions,
  MAX_SOCKET_PATH_BYTES,
  type PluginListener,
} from "./plugin/listen.js";
export {
  type PluginHandshakeConfig,
  servePlugin,
  type ServePluginOptions,
  type ServePluginResult,
  type ShutdownReason,
} from "./plugin/serve.js";
