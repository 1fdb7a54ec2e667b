/** String codes for failures of the plugin SDK itself (serving, handshaking, launching). */
export type PluginErrorCode =
  | "HANDSHAKE_COOKIE_MISMATCH"
  | "HANDSHAKE_TIMEOUT"
  | "HANDSHAKE_MALFORMED"
  | "UNSUPPORTED_PROTOCOL_VERSION"
  | "PLUGIN_EXITED_EARLY"
  | "PLUGIN_START_FAILED"
  | "PLUGIN_MISCONFIGURED"
  | "LISTEN_FAILED"
  | "TLS_SETUP_FAILED"
  | "BROKER_TIMEOUT"
  | "BROKER_FAILED"
  | "INTERNAL";

const brand = Symbol.for("plexum.PluginError");

/** An SDK error with a stable string code; `cause` is always kept. */
export class PluginError extends Error {
  override name = "PluginError";
  readonly code: PluginErrorCode;
  readonly [brand] = true;

  constructor(code: PluginErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /** Wraps any thrown value, passing an existing PluginError through. */
  static from(value: unknown, code: PluginErrorCode = "INTERNAL"): PluginError {
    if (isPluginError(value)) return value;
    const message = value instanceof Error ? value.message : String(value);
    return new PluginError(code, message, { cause: value });
  }
}

/** True for a PluginError, also across duplicated copies of this module, where instanceof fails. */
export function isPluginError(value: unknown): value is PluginError {
  return typeof value === "object" && value !== null && brand in value;
}
