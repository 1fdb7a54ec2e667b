// based on hashicorp/go-plugin server.go (Serve: cookie check, protocolVersion, the stdout line) and
// client.go (Start: parsing that line).
import { PluginError } from "../errors.js";
import type { PluginEnv } from "./env.js";

/** go-plugin's core protocol version, the first handshake field. Anything else is incompatible. */
export const CORE_PROTOCOL_VERSION = 1;

/** What a go-plugin server prints to stderr, verbatim, when run without the magic cookie. */
export const NOT_A_PLUGIN_MESSAGE =
  "This binary is a plugin. These are not meant to be executed directly.\n" +
  "Please execute the program that consumes these plugins, which will\n" +
  "load any plugins automatically\n";

/** Transport announced in handshake field 3. */
export type HandshakeNetwork = "unix" | "tcp";

/** RPC protocol announced in handshake field 5; a host assumes `netrpc` when it is missing. */
export type HandshakeProtocol = "grpc" | "netrpc";

/** The fields of a go-plugin handshake line. */
export interface HandshakeInfo {
  /** Field 1; always {@link CORE_PROTOCOL_VERSION}. */
  coreVersion: typeof CORE_PROTOCOL_VERSION;
  /** Field 2: the negotiated application protocol version. */
  appVersion: number;
  /** Field 3. */
  network: HandshakeNetwork;
  /** Field 4: a socket path for `unix`, `host:port` for `tcp`. */
  address: string;
  /** Field 5. */
  protocol: HandshakeProtocol;
  /** Field 6: the server's AutoMTLS certificate, base64 DER without padding; absent when empty. */
  serverCert?: string;
  /** Field 7 (go-plugin ≥ 1.6): whether gRPC broker multiplexing is supported. */
  multiplex?: boolean;
}

/**
 * True when `env[key]` equals the expected cookie value. The cookie is a UX guard against running a
 * plugin binary by hand, not a security feature.
 */
export function checkMagicCookie(env: PluginEnv, key: string, value: string): boolean {
  return key !== "" && value !== "" && env[key] === value;
}

/**
 * Picks the app protocol version to announce: the highest version both in the host's
 * `PLUGIN_PROTOCOL_VERSIONS` list and in `supported`. With no overlap (or no list) it returns the
 * lowest supported version, as go-plugin does, so that the host reports the mismatch.
 *
 * Entries are read like go-plugin's `strconv.Atoi`: an optional sign and decimal digits, nothing
 * else (go-plugin hosts write `1,2`). Every other entry is skipped and passed to `onInvalidEntry`,
 * where go-plugin prints "server sent invalid plugin version". An unset or empty variable offers
 * nothing and reports nothing.
 */
export function negotiateProtocolVersion(
  envValue: string | undefined,
  supported: readonly number[],
  onInvalidEntry?: (entry: string) => void,
): number {
  if (supported.length === 0) {
    throw new PluginError("PLUGIN_MISCONFIGURED", "no app protocol versions configured");
  }
  const offered = new Set<number>();
  if (envValue !== undefined && envValue !== "") {
    for (const entry of envValue.split(",")) {
      const value = /^[+-]?\d+$/.test(entry) ? Number(entry) : Number.NaN;
      if (Number.isSafeInteger(value)) offered.add(value);
      else onInvalidEntry?.(entry);
    }
  }
  const ordered = [...supported].sort((a, b) => b - a);
  return ordered.find((version) => offered.has(version)) ?? (ordered.at(-1) as number);
}

/**
 * Formats the handshake line, without the trailing newline:
 * `1|<app>|<unix|tcp>|<address>|grpc|<cert>` and, only when `multiplex` is given, `|true|false`.
 *
 * Six fields are always written, the sixth empty without AutoMTLS, exactly like a Go plugin. The
 * seventh must be written only when the host set `PLUGIN_MULTIPLEX_GRPC`: hosts before go-plugin
 * 1.6 split with `SplitN(line, "|", 6)` and would read `cert|false` as the certificate.
 */
export function formatHandshakeLine(info: HandshakeInfo): string {
  for (const [name, value] of [
    ["address", info.address],
    ["serverCert", info.serverCert ?? ""],
  ] as const) {
    if (/[|\r\n]/.test(value)) {
      throw new PluginError(
        "HANDSHAKE_MALFORMED",
        `handshake ${name} must not contain "|" or a line break: ${JSON.stringify(value)}`,
      );
    }
  }
  const fields = [
    String(info.coreVersion),
    String(info.appVersion),
    info.network,
    info.address,
    info.protocol,
    info.serverCert ?? "",
  ];
  if (info.multiplex !== undefined) fields.push(String(info.multiplex));
  return fields.join("|");
}

/** Go's `strconv.ParseBool`, which go-plugin uses for field 7 and `PLUGIN_MULTIPLEX_GRPC`. */
export function parseGoBool(text: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return false;
  return undefined;
}

/**
 * Parses a handshake line read from a plugin's stdout (host side). Surrounding whitespace, such as a
 * `\r\n` ending, is ignored, as go-plugin's `TrimSpace` does.
 *
 * @throws PluginError `HANDSHAKE_MALFORMED` (the message quotes the line) for anything that is not
 * 4 to 7 valid fields, `UNSUPPORTED_PROTOCOL_VERSION` for a core version other than 1.
 */
export function parseHandshakeLine(line: string): HandshakeInfo {
  const malformed = (reason: string): PluginError =>
    new PluginError(
      "HANDSHAKE_MALFORMED",
      `unrecognized remote plugin message (${reason}): ${JSON.stringify(line)}`,
    );
  const parts = line.trim().split("|");
  if (parts.length < 4 || parts.length > 7) {
    throw malformed(`expected 4 to 7 "|"-separated fields, got ${parts.length}`);
  }
  const [core = "", app = "", network = "", address = "", protocol = "netrpc", cert, mux] = parts;
  if (!/^\d+$/.test(core)) throw malformed("core protocol version is not an integer");
  if (Number(core) !== CORE_PROTOCOL_VERSION) {
    throw new PluginError(
      "UNSUPPORTED_PROTOCOL_VERSION",
      `incompatible core API version with plugin: plugin version ${core}, expected ${CORE_PROTOCOL_VERSION}: ${JSON.stringify(line)}`,
    );
  }
  if (!/^\d+$/.test(app)) throw malformed("app protocol version is not an integer");
  if (network !== "unix" && network !== "tcp") throw malformed(`unknown network "${network}"`);
  if (address === "") throw malformed("empty address");
  if (protocol !== "grpc" && protocol !== "netrpc") {
    throw malformed(`unsupported protocol "${protocol}"`);
  }
  const info: HandshakeInfo = {
    coreVersion: CORE_PROTOCOL_VERSION,
    appVersion: Number(app),
    network,
    address,
    protocol,
  };
  if (cert !== undefined && cert !== "") info.serverCert = cert;
  if (mux !== undefined) {
    const multiplex = parseGoBool(mux);
    if (multiplex === undefined) throw malformed(`field 7 is not a boolean: "${mux}"`);
    info.multiplex = multiplex;
  }
  return info;
}
