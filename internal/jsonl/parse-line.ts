// JSON.parse for one JSONL line, returning a result instead of throwing.

export type ParsedLine =
  { ok: true; value: unknown } | { ok: false; error: string; cause: unknown };

/** Parses one line; a blank line is reported as an error like any other non-JSON text. */
export function parseJsonLine(text: string): ParsedLine {
  if (text.trim() === "") return { ok: false, error: "empty line", cause: undefined };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return {
      ok: false,
      error: error instanceof Error ? error.message : String(error),
      cause: error,
    };
  }
}
