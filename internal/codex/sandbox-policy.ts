// The sandbox policy of one turn: the configured one with the turn's overrides, checked, and in the
// shape reported on turn_started. It is re-sent to codex on every turn because a resumed thread
// takes its sandbox from the current flags, not from the thread.
import { stat } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";

import { pathProblem, quote } from "../config/limits.js";
import type { ResolvedConfig } from "../config/load-config.js";
import { SANDBOX_MODES, type SandboxMode, type SandboxPolicy } from "../core/canonical-event.js";

/** What a turn asks for (TurnOptions' sandbox fields). */
export interface SandboxRequest {
  sandbox?: string;
  writableDirs?: string[];
  networkAccess?: boolean;
}

export type PolicyResult = { ok: true; policy: SandboxPolicy } | { ok: false; message: string };

/** The effective policy; a turn's writable_dirs replace the configured ones. */
export async function resolveSandboxPolicy(
  config: ResolvedConfig,
  options: SandboxRequest,
): Promise<PolicyResult> {
  const sandbox = options.sandbox ?? config.sandbox;
  if (!(SANDBOX_MODES as readonly string[]).includes(sandbox)) {
    return { ok: false, message: `sandbox "${sandbox}" is not one of ${SANDBOX_MODES.join(", ")}` };
  }
  const mode = sandbox as SandboxMode;
  const turnDirs = options.writableDirs ?? [];
  if (mode !== "workspace-write") {
    // Explicit per-turn settings that would have no effect are a mistake worth reporting; the
    // configured ones are defaults for workspace-write turns.
    if (turnDirs.length > 0 || options.networkAccess !== undefined) {
      return {
        ok: false,
        message: `writable_dirs and network_access apply to the workspace-write sandbox only; this turn's sandbox is ${mode}`,
      };
    }
    return {
      ok: true,
      policy: {
        sandbox: mode,
        approval: "never",
        writableDirs: [],
        networkAccess: mode === "bypass" || mode === "danger-full-access",
      },
    };
  }
  const dirs = new Set<string>();
  for (const dir of turnDirs.length > 0 ? turnDirs : config.writableDirs) {
    if (!isAbsolute(dir))
      return { ok: false, message: `writable dir ${quote(dir)} is not an absolute path` };
    // Refused before the stat: no such path can exist.
    const problem = pathProblem(dir);
    if (problem !== undefined) return { ok: false, message: `writable dir ${problem}` };
    const isDirectory = await stat(dir).then(
      (info) => info.isDirectory(),
      () => false,
    );
    if (!isDirectory)
      return { ok: false, message: `writable dir ${dir} is not an existing directory` };
    dirs.add(resolve(dir));
  }
  return {
    ok: true,
    policy: {
      sandbox: mode,
      approval: "never",
      writableDirs: [...dirs],
      networkAccess: options.networkAccess ?? config.networkAccess,
    },
  };
}
