// The plugin's own executable, which codex runs as `<path> mcp-host`. process.execPath is node, so
// the path comes from the running script (the bundle, started through its shebang).
import { realpathSync } from "node:fs";
import { resolve } from "node:path";

/**
 * The real absolute path of `script` (default: process.argv[1]); symlinks are resolved so the
 * bridge codex starts is the same build as the running plugin. undefined when there is no script.
 */
export function resolveSelfCommand(
  script: string | undefined = process.argv[1],
): string | undefined {
  if (script === undefined || script === "") return undefined;
  try {
    return realpathSync(script);
  } catch {
    return resolve(script);
  }
}
