// The bounds of what a host or operator controls the size of: the Configure config, and the fields
// of RunTurn, Consume and CancelTurn that recur in it (names, text, paths, maps, JSON documents).
// Each is checked where the value enters the plugin, before any work on it, and a violation is
// answered with INVALID_ARGUMENT naming the field. The README's "Limits" table lists them.

/**
 * The whole Configure `config_json`. Real configs are a few KiB; this bounds what the config adds
 * to codex's argv (config_overrides, extra_args, headers), which Linux caps at ARG_MAX (2 MiB).
 */
export const MAX_CONFIG_JSON_BYTES = 1_048_576;

/**
 * A config_json over MAX_CONFIG_JSON_BYTES is still parsed, up to this size, but only to name the
 * fields that make it large; a larger one is refused unread.
 */
export const MAX_CONFIG_READ_BYTES = 16 * MAX_CONFIG_JSON_BYTES;

/** An identifier: model id or name, variable, header or parameter name, key segment, call id. */
export const MAX_NAME_CHARS = 256;

/** A free-text value: URL, header or query value, API key, extra_args element, git ref. */
export const MAX_TEXT_CHARS = 8192;

/** Entries of one map or list (model_args, supported_models, headers, writable_dirs, …). */
export const MAX_ENTRIES = 256;

/** Keys and array elements of the config's nested config_overrides, at every depth together. */
export const MAX_OVERRIDE_KEYS = 1024;

/** Nesting of config_overrides (tables and arrays), and dotted segments of a turn's override key. */
export const MAX_OVERRIDE_DEPTH = 16;

/**
 * One rendered `-c key=value`: codex gets it as one argv element, and Linux refuses any argv
 * element over 128 KiB (MAX_ARG_STRLEN) with E2BIG.
 */
export const MAX_OVERRIDE_BYTES = 65_536;

/** A turn's config_overrides, keys and values together: codex's whole argv must fit ARG_MAX. */
export const MAX_TURN_OVERRIDES_BYTES = 262_144;

/** PATH_MAX is 4096 bytes with the terminating NUL: no longer path can be opened on Linux. */
export const MAX_PATH_BYTES = 4095;

/** NAME_MAX: no file name (path component) is longer. */
export const MAX_PATH_COMPONENT_BYTES = 255;

/** Nesting of a JSON document the host sends (schemas, tool results); parsers and JSON.stringify recurse. */
export const MAX_JSON_DEPTH = 64;

/** TurnOptions.output_schema_json. */
export const MAX_OUTPUT_SCHEMA_BYTES = 262_144;

/** HostTool.description. */
export const MAX_TOOL_DESCRIPTION_CHARS = 16_384;

/** HostTool.input_schema_json. */
export const MAX_TOOL_SCHEMA_BYTES = 65_536;

/** Images attached to the prompt. */
export const MAX_PROMPT_IMAGES = 64;

/** ConsumeRequest.block_ids. */
export const MAX_BLOCK_IDS = 10_000;

/** A cancel reason is kept to this many characters; a cancel is never refused for its reason. */
export const MAX_REASON_CHARS = 1024;

/** An error names at most this many problems (and fields), then says how many more there are. */
export const MAX_LISTED_PROBLEMS = 20;

/** One problem with a request or config field, located by its dotted path. */
export interface FieldProblem {
  field: string;
  message: string;
}

const SHOWN_CHARS = 96;

/** `text` cut to `max` characters with an ellipsis and its length, for messages. */
export function shorten(text: string, max = SHOWN_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/** `text` quoted as JSON, shortened first: user text in a message stays bounded. */
export function quote(text: string, max = SHOWN_CHARS): string {
  return text.length <= max ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, max))}…`;
}

/** Why `value` is over `max` characters, or undefined. */
export function lengthProblem(value: string, max: number): string | undefined {
  return value.length > max
    ? `is ${value.length} characters; at most ${max} are accepted`
    : undefined;
}

/**
 * Why `path` cannot name a file on Linux (a NUL byte, over PATH_MAX, a component over NAME_MAX),
 * or undefined. Cheap, so it runs before any stat, realpath or mkdir of the path.
 */
export function pathProblem(path: string): string | undefined {
  if (path.includes("\0")) return "must not contain a NUL byte";
  // UTF-8 never takes fewer bytes than UTF-16 code units, so a long string fails before encoding.
  const bytes = path.length > MAX_PATH_BYTES ? path.length : Buffer.byteLength(path, "utf8");
  if (bytes > MAX_PATH_BYTES) {
    return `is over ${MAX_PATH_BYTES} bytes (PATH_MAX); no such path can exist`;
  }
  for (const component of path.split("/")) {
    if (Buffer.byteLength(component, "utf8") > MAX_PATH_COMPONENT_BYTES) {
      return (
        `has a component over ${MAX_PATH_COMPONENT_BYTES} bytes (NAME_MAX), ` +
        `${quote(component, 32)}; no such path can exist`
      );
    }
  }
  return undefined;
}

/**
 * Why a JSON text is over `maxBytes` or nests deeper than `maxDepth`, or undefined. One pass over
 * the text, run before JSON.parse: V8 parses any depth, but JSON.stringify, ajv and smol-toml
 * recurse and would overflow the stack on what it parsed.
 */
export function jsonTextProblem(
  text: string,
  maxBytes: number,
  maxDepth = MAX_JSON_DEPTH,
): string | undefined {
  if (text.length > maxBytes || Buffer.byteLength(text, "utf8") > maxBytes) {
    return `is ${Buffer.byteLength(text, "utf8")} bytes; at most ${maxBytes} are accepted`;
  }
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 0x5c) index += 1;
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x5b || code === 0x7b) {
      depth += 1;
      if (depth > maxDepth) return `nests deeper than ${maxDepth} levels`;
    } else if (code === 0x5d || code === 0x7d) {
      depth -= 1;
    }
  }
  return undefined;
}

/**
 * The problems as one bounded message, `field: message; …`, naming at most MAX_LISTED_PROBLEMS of
 * them, and their distinct fields (shortened, also at most MAX_LISTED_PROBLEMS).
 */
export function summariseProblems(problems: readonly FieldProblem[]): {
  detail: string;
  fields: string[];
} {
  const listed = problems
    .slice(0, MAX_LISTED_PROBLEMS)
    .map((problem) => `${shorten(problem.field)}: ${shorten(problem.message, 512)}`);
  const more = problems.length - MAX_LISTED_PROBLEMS;
  if (more > 0) listed.push(`and ${more} more problem${more === 1 ? "" : "s"}`);
  const fields = new Set<string>();
  for (const problem of problems) {
    if (fields.size >= MAX_LISTED_PROBLEMS) break;
    fields.add(shorten(problem.field));
  }
  return { detail: listed.join("; "), fields: [...fields] };
}
