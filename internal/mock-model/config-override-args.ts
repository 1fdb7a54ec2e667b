// Turns a nested codex config object into `-c key=value` strings. Keys become dotted paths and
// every value is a TOML literal produced by smol-toml, so quoting and escaping are never hand-made.
import { parse, stringify } from "smol-toml";

/** A value allowed at a leaf of a config override: TOML scalars and arrays of them. */
export type ConfigLeaf = string | number | boolean | readonly ConfigLeaf[];

/** A nested config object as codex's config.toml would hold it. */
export interface ConfigTree {
  readonly [key: string]: ConfigLeaf | ConfigTree;
}

// codex splits -c paths on "." even inside quotes, so only bare keys can be addressed this way.
const BARE_KEY = /^[A-Za-z0-9_-]+$/;
const PROBE_KEY = "value";

/** `key=value` strings, one per leaf, in the tree's key order; pass each after a `-c`. */
export function renderConfigOverrides(tree: ConfigTree): string[] {
  const lines: string[] = [];
  collect(tree, [], lines);
  return lines;
}

/** `["-c", "a=1", "-c", "b=2", …]` for direct use in an argv. */
export function toConfigArgs(overrides: readonly string[]): string[] {
  return overrides.flatMap((override) => ["-c", override]);
}

function collect(tree: ConfigTree, path: readonly string[], out: string[]): void {
  for (const [key, value] of Object.entries(tree)) {
    if (!BARE_KEY.test(key)) {
      throw new Error(
        `config key ${JSON.stringify(key)} under ${path.join(".") || "<root>"} is not a bare TOML key; codex cannot address it with a dotted -c path`,
      );
    }
    const keyPath = [...path, key];
    if (isTree(value)) {
      collect(value, keyPath, out);
    } else {
      out.push(`${keyPath.join(".")}=${tomlLiteral(value)}`);
    }
  }
}

// smol-toml renders documents, not bare values: render a one-key document and take its value.
function tomlLiteral(value: ConfigLeaf): string {
  const line = stringify({ [PROBE_KEY]: value }).trimEnd();
  const prefix = `${PROBE_KEY} = `;
  if (!line.startsWith(prefix) || line.includes("\n")) {
    throw new Error(`cannot render ${JSON.stringify(value)} as a single TOML value`);
  }
  const literal = line.slice(prefix.length);
  // Guard against a library change silently producing something else.
  const reparsed = parse(`${PROBE_KEY} = ${literal}`)[PROBE_KEY];
  if (JSON.stringify(reparsed) !== JSON.stringify(value)) {
    throw new Error(`TOML literal ${literal} does not round-trip to ${JSON.stringify(value)}`);
  }
  return literal;
}

function isTree(value: ConfigLeaf | ConfigTree): value is ConfigTree {
  return typeof value === "object" && !Array.isArray(value);
}
