import type { DestinationStream, LogFn, Logger } from "pino";
import { pino } from "pino";

import { PluginError } from "../errors.js";
import { currentEpochMs, formatHclogTimestamp } from "./hclog-timestamp.js";
import { REDACTED, redactPaths } from "./redact.js";

/** Options for {@link createHclogLogger}. */
export interface HclogLoggerOptions {
  /** pino level name (`trace` … `fatal`, or `silent`); default `info`. */
  level?: string;
  /** A file descriptor (default 2, stderr) or a stream. stdout (fd 1) is refused. */
  destination?: number | NodeJS.WritableStream | DestinationStream;
  /** Keys added to every record, e.g. `{ "@module": "provider" }`. */
  bindings?: Record<string, unknown>;
  /** Redaction paths; default {@link redactPaths}. */
  redact?: readonly string[];
}

// hclog knows only these five level names; pino's `fatal` has no hclog equivalent.
const hclogLevels: Readonly<Record<string, string>> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warn: "warn",
  error: "error",
  fatal: "error",
};

// go-plugin reads @message, @level and @timestamp with unchecked `v.(string)` assertions, so a
// number there panics the host (go-plugin log_entry.go). Everything that can land there is coerced.
function toLogString(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return value.message;
  if (typeof value === "object" && value !== null) {
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}

// A serializer that returns undefined makes pino drop the key, so callers cannot override the
// level or timestamp that the logger itself writes (a later duplicate key would win in Go's decoder).
function dropKey(): undefined {
  return undefined;
}

function messageFromError(value: unknown): string {
  if (typeof value === "object" && value !== null && "message" in value) {
    return toLogString((value as { message: unknown }).message);
  }
  return "";
}

// Guarantees every record has an @message: pino omits the key when no message is given.
function ensureMessage(this: Logger, args: Parameters<LogFn>, method: LogFn): void {
  const call = method as (...values: unknown[]) => void;
  const values = args as unknown[];
  const [first] = values;
  if (values.length === 0 || (values.length === 1 && first === undefined)) {
    call.call(this, "");
    return;
  }
  if (
    values.length === 1 &&
    typeof first === "object" &&
    first !== null &&
    !(first instanceof Error) &&
    !Object.hasOwn(first, "@message")
  ) {
    call.call(this, first, messageFromError((first as { err?: unknown }).err));
    return;
  }
  call.apply(this, values);
}

function resolveDestination(
  destination: HclogLoggerOptions["destination"],
): DestinationStream | NodeJS.WritableStream {
  const fd =
    typeof destination === "number"
      ? destination
      : (destination as { fd?: unknown } | undefined)?.fd;
  if (fd === 1) {
    throw new PluginError(
      "PLUGIN_MISCONFIGURED",
      "refusing to log to stdout: it carries the go-plugin handshake",
    );
  }
  if (typeof destination === "object") return destination;
  // Synchronous, so a record written just before process.exit() is not lost.
  return pino.destination({ fd: destination ?? 2, sync: true });
}

/**
 * Creates a pino logger that writes hclog-compatible JSON lines, by default synchronously to stderr:
 * `{"@level":"info","@timestamp":"2026-11-22T00:21:01.123456Z","@message":"…",…}`.
 *
 * A go-plugin host re-logs such lines at their level; any other shape is downgraded to raw DEBUG
 * text. `@level`, `@message`, `@timestamp` and `@module` are always strings, because a non-string
 * value crashes the host. pid, hostname, `time`, `level` and `msg` are not written.
 */
export function createHclogLogger(options: HclogLoggerOptions = {}): Logger {
  const destination = resolveDestination(options.destination);
  return pino(
    {
      level: options.level ?? "info",
      base: options.bindings ?? null,
      messageKey: "@message",
      timestamp: () => `,"@timestamp":"${formatHclogTimestamp(currentEpochMs())}"`,
      formatters: {
        level: (label) => ({ "@level": hclogLevels[label] ?? "info" }),
      },
      serializers: {
        "@message": toLogString,
        "@module": toLogString,
        "@level": dropKey,
        "@timestamp": dropKey,
      },
      hooks: { logMethod: ensureMessage },
      redact: { paths: [...(options.redact ?? redactPaths)], censor: REDACTED },
    },
    destination as DestinationStream,
  );
}
