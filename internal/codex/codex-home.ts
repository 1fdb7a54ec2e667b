// CODEX_HOME as codex itself resolves it.
import { homedir } from "node:os";
import { join } from "node:path";

/** CODEX_HOME as codex would see it: config, else the environment, else ~/.codex. */
export function effectiveCodexHome(
  configured: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (configured !== undefined) return configured;
  const fromEnv = env["CODEX_HOME"];
  return fromEnv !== undefined && fromEnv !== "" ? fromEnv : join(homedir(), ".codex");
}
