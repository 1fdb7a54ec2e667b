// Turns nested JSON config overrides into codex `-c key=value` assignments. Values are rendered by
// smol-toml, never pasted into strings, so quotes, backslashes and newlines cannot break out.
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";

import {
  lengthProblem,
  MAX_NAME_CHARS,
  MAX_OVERRIDE_BYTES,
  MAX_OVERRIDE_DEPTH,
  quote,
  shorten,
} from "./limits.js";

/** A problem with one override, located by its dotted path in the host config. */
export interface OverrideIssue {
  path: string;
  message: string;
}

export interface FlattenedOverrides {
  /** `key=value` strings, each one argv element after `-c`. */
  assignments: string[];
  errors: OverrideIssue[];
  warnings: OverrideIssue[];
}

// codex splits the -c key on "." (even inside quotes) and the assignment on the first "=", so those
// can never appear inside a segment. The rest is a conservative set that still covers MCP server
// names (letters, digits, - _ : @ /) and env var names.
const KEY_SEGMENT = /^[A-Za-z0-9_\-:@/+]+$/;

/** Why a single key segment is unusable in a dotted `-c` path, or undefined if it is fine. */
export function checkKeySegment(segment: string): string | undefined {
  if (segment === "") return "keys must not be empty";
  const tooLong = lengthProblem(segment, MAX_NAME_CHARS);
  if (tooLong !== undefined) return `key ${quote(segment)} ${tooLong}`;
  if (segment.includes(".")) {
    return `key ${quote(segment)} contains '.', which codex would split into nested tables`;
  }
  if (!KEY_SEGMENT.test(segment)) {
    return `key ${quote(segment)} may only contain letters, digits and - _ : @ / +`;
  }
  return undefined;
}

/** Renders one JSON value as a single-line TOML literal, or explains why it cannot be. */
export function renderTomlLiteral(
  value: unknown,
): { ok: true; literal: string } | { ok: false; message: string } {
  const problem = checkLeaf(value, 0);
  if (problem !== undefined) return { ok: false, message: problem };
  let document: string;
  try {
    document = stringifyToml({ v: value }, { maxDepth: MAX_OVERRIDE_DEPTH + 1 });
  } catch (error) {
    return { ok: false, message: `cannot be rendered as TOML: ${String(error)}` };
  }
  // smol-toml escapes newlines inside strings, so a raw newline before the end means it chose a
  // table form, which a single `-c` value cannot carry.
  const prefix = "v = ";
  const body = document.endsWith("\n") ? document.slice(0, -1) : document;
  if (!body.startsWith(prefix) || body.includes("\n")) {
    return { ok: false, message: "cannot be rendered as a single TOML value" };
  }
  return { ok: true, literal: body.slice(prefix.length) };
}

const ELEMENT = "array element: ";

// Recurses only into nested arrays, and never past MAX_OVERRIDE_DEPTH of them.
function checkLeaf(value: unknown, depth: number): string | undefined {
  if (typeof value === "string" || typeof value === "boolean") return undefined;
  if (typeof value === "number") {
    return Number.isFinite(value) ? undefined : "numbers must be finite";
  }
  if (value === null) return "null has no TOML equivalent; remove the key instead";
  if (Array.isArray(value)) {
    if (depth >= MAX_OVERRIDE_DEPTH) {
      return `arrays nest deeper than ${MAX_OVERRIDE_DEPTH} levels`;
    }
    for (const element of value) {
      if (isPlainObject(element)) {
        return "arrays of tables are not supported; use nested objects with dotted keys";
      }
      const problem = checkLeaf(element, depth + 1);
      if (problem !== undefined) {
        return problem.startsWith(ELEMENT) ? problem : `${ELEMENT}${problem}`;
      }
    }
    return undefined;
  }
  return `unsupported value type ${typeof value}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Flattens nested objects into dotted keys and renders each leaf; reports every bad path. Tables
 * nested deeper than MAX_OVERRIDE_DEPTH are reported, never descended into.
 */
export function flattenConfigOverrides(
  overrides: Record<string, unknown>,
  basePath = "config_overrides",
): FlattenedOverrides {
  const result: FlattenedOverrides = { assignments: [], errors: [], warnings: [] };
  walk(overrides, [], basePath, result);
  return result;
}

function walk(
  node: Record<string, unknown>,
  keys: string[],
  configPath: string,
  result: FlattenedOverrides,
): void {
  for (const [key, value] of Object.entries(node)) {
    const path = `${configPath}.${key}`;
    const keyProblem = checkKeySegment(key);
    if (keyProblem !== undefined) {
      result.errors.push({ path, message: keyProblem });
      continue;
    }
    if (isPlainObject(value)) {
      if (Object.keys(value).length === 0) {
        result.warnings.push({ path, message: "empty table ignored" });
        continue;
      }
      if (keys.length + 1 >= MAX_OVERRIDE_DEPTH) {
        result.errors.push({
          path,
          message: `tables nest deeper than ${MAX_OVERRIDE_DEPTH} levels`,
        });
        continue;
      }
      walk(value, [...keys, key], path, result);
      continue;
    }
    const rendered = renderTomlLiteral(value);
    if (!rendered.ok) {
      result.errors.push({ path, message: rendered.message });
      continue;
    }
    const assignment = `${[...keys, key].join(".")}=${rendered.literal}`;
    const bytes = Buffer.byteLength(assignment, "utf8");
    if (bytes > MAX_OVERRIDE_BYTES) {
      result.errors.push({
        path,
        message: `renders as ${bytes} bytes; one codex -c value holds at most ${MAX_OVERRIDE_BYTES}`,
      });
      continue;
    }
    result.assignments.push(assignment);
  }
}

/**
 * Checks a per-turn override whose value is already a TOML literal (TurnOptions.configOverrides).
 * Returns the assignment for `-c`, or why it is rejected.
 */
export function checkLiteralOverride(
  dottedKey: string,
  literal: string,
): { ok: true; assignment: string } | { ok: false; message: string } {
  const key = shorten(dottedKey);
  const segments = dottedKey.split(".", MAX_OVERRIDE_DEPTH + 1);
  if (segments.length > MAX_OVERRIDE_DEPTH) {
    return { ok: false, message: `${key}: has over ${MAX_OVERRIDE_DEPTH} dotted segments` };
  }
  for (const segment of segments) {
    const problem = checkKeySegment(segment);
    if (problem !== undefined) return { ok: false, message: `${key}: ${problem}` };
  }
  const bytes = Buffer.byteLength(dottedKey, "utf8") + 1 + Buffer.byteLength(literal, "utf8");
  if (bytes > MAX_OVERRIDE_BYTES) {
    return {
      ok: false,
      message: `${key}: is ${bytes} bytes; one codex -c value holds at most ${MAX_OVERRIDE_BYTES}`,
    };
  }
  let document: Record<string, unknown>;
  try {
    document = parseToml(`v = ${literal}`);
  } catch {
    // codex would silently use an unparsable value as a raw string; refuse instead of guessing.
    return { ok: false, message: `${key}: value is not a valid TOML literal` };
  }
  // A literal like `1\nother = 2` parses, but smuggles in a second key.
  if (Object.keys(document).length !== 1) {
    return { ok: false, message: `${key}: value must be exactly one TOML literal` };
  }
  return { ok: true, assignment: `${dottedKey}=${literal}` };
}
