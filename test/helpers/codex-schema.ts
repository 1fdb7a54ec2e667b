// Reduces what one codex session produced (`codex exec --json` events, rollout lines, what an MCP
// server received and what the model was sent back) to its shape: record types and their key sets,
// no values. Written as plain text, one line per shape, so a new codex shows up as a readable diff.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `{a,b,c}`: the sorted keys of an object, or the JSON type of anything else. */
export function keySet(value: unknown): string {
  if (isObject(value)) return `{${Object.keys(value).sort().join(",")}}`;
  if (Array.isArray(value)) return "array";
  return value === null ? "null" : typeof value;
}

/** One line per exec event, in order; consecutive repeats are folded into one. */
export function execEventShapes(events: readonly Record<string, unknown>[]): string[] {
  const lines: string[] = [];
  for (const event of events) {
    const type = String(event["type"]);
    let line = `${type} ${keySet(event)}`;
    const item = event["item"];
    if (isObject(item)) line += ` item ${String(item["type"])} ${keySet(item)}`;
    for (const nested of ["usage", "error"]) {
      if (isObject(event[nested])) line += ` ${nested} ${keySet(event[nested])}`;
    }
    if (lines.at(-1) !== line) lines.push(line);
  }
  return lines;
}

/** One line per distinct rollout record shape, sorted: line keys, payload type and keys. */
export function rolloutShapes(lines: readonly string[]): string[] {
  const shapes = new Set<string>();
  for (const text of lines) {
    if (text.trim() === "") continue;
    let line: unknown;
    try {
      line = JSON.parse(text);
    } catch {
      shapes.add("(a line that is not JSON)");
      continue;
    }
    if (!isObject(line)) {
      shapes.add(`(a line that is ${keySet(line)})`);
      continue;
    }
    const payload = line["payload"];
    const payloadType =
      isObject(payload) && typeof payload["type"] === "string" ? payload["type"] : "";
    let shape = `${String(line["type"])}${payloadType === "" ? "" : `/${payloadType}`} ${keySet(line)}`;
    shape += ` payload ${keySet(payload)}`;
    if (isObject(payload) && isObject(payload["item"])) {
      const item = payload["item"];
      shape += ` item ${String(item["type"])} ${keySet(item)}`;
    }
    if (isObject(line["metadata"])) shape += ` metadata ${keySet(line["metadata"])}`;
    shapes.add(shape);
  }
  return [...shapes].sort();
}

/**
 * A tool output as the model received it, values blurred: numbers and hex ids become N, so the
 * wrapping codex puts around the tool's text (e.g. "Wall time: N.N seconds") stays visible.
 */
export function outputShape(output: unknown): string {
  if (typeof output === "string") {
    return JSON.stringify(output.replace(/\b(?:(?=[0-9a-f]*\d)[0-9a-f]+|[0-9a-f]{6,})\b/gi, "N"));
  }
  if (Array.isArray(output)) {
    return `array of ${output.map((part) => (isObject(part) ? `${String(part["type"])} ${keySet(part)}` : keySet(part))).join(", ")}`;
  }
  return keySet(output);
}
