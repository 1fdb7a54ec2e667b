// The environment codex runs with.
import { delimiter } from "node:path";

// With a backtrace variable set, codex appends a `Stack backtrace:` block to every error, which
// also reaches the model through failed MCP tool outputs.
const DROPPED_VARIABLES = ["RUST_BACKTRACE", "RUST_LIB_BACKTRACE"];

export interface ChildEnvOptions {
  /** Exported as CODEX_HOME when set; otherwise the inherited value (or codex's ~/.codex) applies. */
  codexHome?: string | undefined;
  /** A directory of codex's bundled helpers (e.g. rg) to put first on PATH, as the SDK does. */
  helperPathDir?: string | undefined;
  /** Exported as CODEX_SQLITE_HOME when set (per-agent homes set it to their own directory). */
  sqliteHome?: string | undefined;
  /** Variables to set (e.g. a key as CODEX_API_KEY); applied after `unset`. */
  set?: Readonly<Record<string, string>>;
  /** Variables to remove (e.g. the operator's variable a key was read from). */
  unset?: readonly string[];
}

/** Copies `base` (normally process.env), drops backtrace variables and applies the options. */
export function buildChildEnv(
  base: NodeJS.ProcessEnv,
  options: ChildEnvOptions = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) {
    if (value !== undefined && !DROPPED_VARIABLES.includes(key)) env[key] = value;
  }
  if (options.codexHome !== undefined) env["CODEX_HOME"] = options.codexHome;
  if (options.sqliteHome !== undefined) env["CODEX_SQLITE_HOME"] = options.sqliteHome;
  for (const name of options.unset ?? []) delete env[name];
  for (const [name, value] of Object.entries(options.set ?? {})) env[name] = value;
  if (options.helperPathDir !== undefined) {
    const current = env["PATH"];
    env["PATH"] =
      current === undefined || current === ""
        ? options.helperPathDir
        : `${options.helperPathDir}${delimiter}${current}`;
  }
  return env;
}
