// The config's sizes, checked before its schema: maps and lists over MAX_ENTRIES, config_overrides
// over its key count or nesting, and paths that cannot exist. Each such field is reported once and
// left out of the rest of the validation, so nothing walks a map of a million keys, recurses into
// a nesting it cannot hold, or stats a path no file system has.
import {
  type FieldProblem,
  MAX_ENTRIES,
  MAX_OVERRIDE_DEPTH,
  MAX_OVERRIDE_KEYS,
  pathProblem,
} from "./limits.js";

export interface LimitedConfig {
  problems: FieldProblem[];
  /** A copy of the config without the fields over a bound; what the rest of validation sees. */
  within: Record<string, unknown>;
}

const LISTS = ["supported_models", "extra_args", "writable_dirs"] as const;
const ENDPOINT_MAPS = ["http_headers", "env_http_headers", "query_params"] as const;
const PATHS = ["binary", "state_dir", "codex_home"] as const;
const MCP_HOST_PATHS = ["command", "socket_dir"] as const;

/** The problems of every field over a bound, and the config without those fields. */
export function checkConfigLimits(config: Record<string, unknown>): LimitedConfig {
  const problems: FieldProblem[] = [];
  const within: Record<string, unknown> = { ...config };
  const refuse = (from: Record<string, unknown>, key: string, field: string, message: string) => {
    problems.push({ field, message });
    delete from[key];
  };

  for (const key of LISTS) {
    const value = within[key];
    if (Array.isArray(value) && value.length > MAX_ENTRIES) {
      refuse(within, key, key, entriesMessage(value.length, MAX_ENTRIES));
    }
  }
  const modelArgs = within["model_args"];
  if (isRecord(modelArgs)) {
    const count = Object.keys(modelArgs).length;
    if (count > MAX_ENTRIES) refuse(within, "model_args", "model_args", entriesMessage(count));
  }
  const endpoint = within["endpoint"];
  if (isRecord(endpoint)) {
    const copy = { ...endpoint };
    for (const key of ENDPOINT_MAPS) {
      const map = copy[key];
      const count = isRecord(map) ? Object.keys(map).length : 0;
      if (count > MAX_ENTRIES) refuse(copy, key, `endpoint.${key}`, entriesMessage(count));
    }
    within["endpoint"] = copy;
  }
  const overrides = within["config_overrides"];
  if (isRecord(overrides)) {
    const problem = overridesProblem(overrides);
    if (problem !== undefined) refuse(within, "config_overrides", "config_overrides", problem);
  }

  for (const key of PATHS) {
    const value = within[key];
    const problem = typeof value === "string" ? pathProblem(value) : undefined;
    if (problem !== undefined) refuse(within, key, key, problem);
  }
  const dirs = within["writable_dirs"];
  if (Array.isArray(dirs)) {
    const bad = dirs.flatMap((dir: unknown, index) => {
      const problem = typeof dir === "string" ? pathProblem(dir) : undefined;
      return problem === undefined ? [] : [{ field: `writable_dirs.${index}`, message: problem }];
    });
    if (bad.length > 0) {
      for (const problem of bad) problems.push(problem);
      delete within["writable_dirs"];
    }
  }
  const mcpHost = within["mcp_host"];
  if (isRecord(mcpHost)) {
    const copy = { ...mcpHost };
    for (const key of MCP_HOST_PATHS) {
      const value = copy[key];
      const problem = typeof value === "string" ? pathProblem(value) : undefined;
      if (problem !== undefined) refuse(copy, key, `mcp_host.${key}`, problem);
    }
    within["mcp_host"] = copy;
  }
  return { problems, within };
}

/**
 * Why config_overrides is too large (over MAX_OVERRIDE_KEYS keys and array elements in all) or too
 * deep (over MAX_OVERRIDE_DEPTH levels), or undefined. Iterative, and stops at the first bound hit.
 */
export function overridesProblem(overrides: Record<string, unknown>): string | undefined {
  let count = 0;
  const stack: { value: unknown; depth: number }[] = [{ value: overrides, depth: 0 }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value, depth } = next;
    const children: unknown[] = Array.isArray(value)
      ? value
      : isRecord(value)
        ? Object.values(value)
        : [];
    if (children.length === 0) continue;
    if (depth >= MAX_OVERRIDE_DEPTH) {
      return `nests deeper than ${MAX_OVERRIDE_DEPTH} levels of tables and arrays`;
    }
    count += children.length;
    if (count > MAX_OVERRIDE_KEYS) {
      return `has over ${MAX_OVERRIDE_KEYS} keys and array elements; at most ${MAX_OVERRIDE_KEYS} are accepted`;
    }
    for (const child of children) stack.push({ value: child, depth: depth + 1 });
  }
  return undefined;
}

function entriesMessage(count: number, max = MAX_ENTRIES): string {
  return `has ${count} entries; at most ${max} are accepted`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
