// Environment variables of the go-plugin wire contract (go-plugin constants.go, client.go, server.go).
// The magic cookie's key is chosen by each application and passed to servePlugin()/launchPlugin().

/** Comma-separated app protocol versions the host accepts, e.g. `1,2`. Set by every host. */
export const PLUGIN_PROTOCOL_VERSIONS = "PLUGIN_PROTOCOL_VERSIONS";

/** Lowest TCP port the plugin may listen on (default 10000); used only when serving over TCP. */
export const PLUGIN_MIN_PORT = "PLUGIN_MIN_PORT";

/** Highest TCP port the plugin may listen on (default 25000); used only when serving over TCP. */
export const PLUGIN_MAX_PORT = "PLUGIN_MAX_PORT";

/** The host's PEM certificate under AutoMTLS: serve TLS and require client certs signed by it. */
export const PLUGIN_CLIENT_CERT = "PLUGIN_CLIENT_CERT";

/**
 * Present when the host wants gRPC broker multiplexing (go-plugin ≥ 1.6). Its mere presence makes
 * the plugin write the 7th handshake field; older hosts would glue a 7th field onto the 6th.
 */
export const PLUGIN_MULTIPLEX_GRPC = "PLUGIN_MULTIPLEX_GRPC";

/** Directory to create unix sockets in (go-plugin ≥ 1.5); default is the OS temp dir. */
export const PLUGIN_UNIX_SOCKET_DIR = "PLUGIN_UNIX_SOCKET_DIR";

/** Group name or numeric gid that must own the socket, which is then made mode 0660 (≥ 1.5). */
export const PLUGIN_UNIX_SOCKET_GROUP = "PLUGIN_UNIX_SOCKET_GROUP";

/** Default lowest TCP port, as in go-plugin. */
export const DEFAULT_MIN_PORT = 10000;

/** Default highest TCP port, as in go-plugin. */
export const DEFAULT_MAX_PORT = 25000;

/** An environment as a plain record; `process.env` satisfies it. */
export type PluginEnv = Readonly<Record<string, string | undefined>>;
