// Builds the argv for one `codex exec --json` turn. Pure: no I/O, no process state.
import { type SandboxMode } from "../core/canonical-event.js";
import { type McpServerRegistration } from "../mcp/mcp-registration.js";
import { mcpServerOverrides } from "../mcp/mcp-server-overrides.js";

export interface ExecArgsOptions {
  sandbox: SandboxMode;
  /** The codex --model value; undefined keeps codex's default model. */
  model?: string | undefined;
  /** The workspace, re-sent as `-C` so a resumed thread cannot drift to another cwd. */
  workspace?: string | undefined;
  /** `key=value` assignments, each sent as `-c <assignment>` in order (later wins in codex). */
  configOverrides?: readonly string[];
  /** MCP servers for this run only (the host-tool bridge), after the config overrides. */
  mcpServers?: readonly McpServerRegistration[] | undefined;
  /** Operator flags from config `extra_args`. */
  extraArgs?: readonly string[];
  /** Resume this thread; undefined starts a new one. */
  resumeThreadId?: string | undefined;
  /** workspace-write only: extra writable directories, each sent as `--add-dir`. */
  writableDirs?: readonly string[] | undefined;
  /** workspace-write only: `-c sandbox_workspace_write.network_access=<bool>`. */
  networkAccess?: boolean | undefined;
  /** Absolute image paths, each sent as `--image` (comma-free: codex splits values at commas). */
  images?: readonly string[] | undefined;
  /** A JSON Schema file for the final message (`--output-schema`). */
  outputSchemaPath?: string | undefined;
}

/**
 * `exec [--image p…] --json --skip-git-repo-check <sandbox> [--add-dir d…] [--output-schema f]
 * [-C dir] [--model m] [-c k=v…] [extra…] [resume <id> [--image p…]] -`.
 *
 * Every exec-level flag goes before `resume`: codex rejects `-s`, `-C` and others after it (exit 2),
 * and a resumed thread takes sandbox and model from the current flags, not from the thread, so they
 * are re-sent on every turn. The prompt is never in argv: `-` makes codex read all of stdin, which
 * avoids E2BIG (one argv element is capped at 128 KiB) and the open-stdin hang.
 */
export function buildExecArgs(options: ExecArgsOptions): string[] {
  const images = (options.images ?? []).flatMap((path) => ["--image", path]);
  const resuming = options.resumeThreadId !== undefined;
  // exec's --image takes several values and would swallow a following "-" or `resume`; on a new
  // turn it therefore goes first, before any other flag. resume's --image takes one value.
  const args = ["exec", ...(resuming ? [] : images), "--json", "--skip-git-repo-check"];
  args.push(...sandboxArgs(options.sandbox));
  if (options.sandbox === "workspace-write") {
    for (const dir of options.writableDirs ?? []) args.push("--add-dir", dir);
    if (options.networkAccess !== undefined) {
      args.push("-c", `sandbox_workspace_write.network_access=${options.networkAccess}`);
    }
  }
  if (options.outputSchemaPath !== undefined) {
    args.push("--output-schema", options.outputSchemaPath);
  }
  if (options.workspace !== undefined) args.push("-C", options.workspace);
  if (options.model !== undefined) args.push("--model", options.model);
  for (const assignment of options.configOverrides ?? []) args.push("-c", assignment);
  for (const server of options.mcpServers ?? []) {
    for (const assignment of mcpServerOverrides(server)) args.push("-c", assignment);
  }
  for (const arg of options.extraArgs ?? []) args.push(arg);
  if (options.resumeThreadId !== undefined) {
    args.push("resume", options.resumeThreadId, ...images);
  }
  args.push("-");
  return args;
}

/** Sandbox and approval flags; exec cannot answer approval prompts, so approval is always never. */
export function sandboxArgs(sandbox: SandboxMode): string[] {
  if (sandbox === "bypass") return ["--dangerously-bypass-approvals-and-sandbox"];
  return ["-s", sandbox, "-c", 'approval_policy="never"'];
}
