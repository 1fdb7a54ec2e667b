// A plugin's stderr as the host logs it: hclog JSON lines re-logged at their own level, anything
// else as it is, at debug (go-plugin's logStderr).
import type { Logger } from "pino";

const hclogLevels = new Set(["trace", "debug", "info", "warn", "error"]);

/** Re-logs one line of a plugin's stderr. */
export function relayStderrLine(logger: Logger, plugin: string, line: string): void {
  try {
    const record: unknown = JSON.parse(line);
    if (typeof record === "object" && record !== null) {
      const {
        "@level": level,
        "@message": message,
        "@timestamp": _time,
        ...fields
      } = record as Record<string, unknown>;
      const name = typeof level === "string" ? level.toLowerCase() : "";
      if (hclogLevels.has(name) && typeof message === "string") {
        logger[name as "info"]({ ...fields, plugin }, message);
        return;
      }
    }
  } catch {
    // Not JSON: logged raw below.
  }
  logger.debug({ plugin }, line);
}
