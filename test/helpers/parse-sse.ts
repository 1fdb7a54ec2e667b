// A strict reader for the mock's SSE output: "event:" and "data:" fields, events ended by a
// blank line. Anything else fails loudly, so framing mistakes surface in unit tests.

/** One parsed event: its `event:` name and its `data:` payload parsed as JSON. */
export interface ParsedSseEvent {
  readonly event: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** Parses a complete SSE body; throws on unknown fields or an unterminated last event. */
export function parseSse(text: string): ParsedSseEvent[] {
  if (text === "") {
    return [];
  }
  if (!text.endsWith("\n\n")) {
    throw new Error("SSE body does not end with a blank line");
  }
  return text
    .slice(0, -2)
    .split("\n\n")
    .map((block) => {
      let event: string | undefined;
      const data: string[] = [];
      for (const line of block.split("\n")) {
        const colon = line.indexOf(": ");
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? "" : line.slice(colon + 2);
        if (field === "event") {
          event = value;
        } else if (field === "data") {
          data.push(value);
        } else {
          throw new Error(`unexpected SSE line ${JSON.stringify(line)}`);
        }
      }
      if (event === undefined || data.length === 0) {
        throw new Error(`SSE block without event or data: ${JSON.stringify(block)}`);
      }
      return { event, data: JSON.parse(data.join("\n")) as Record<string, unknown> };
    });
}
