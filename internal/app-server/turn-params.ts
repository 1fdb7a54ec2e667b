// The app-server request params of one codex run: what exec gets as flags, here as thread/start,
// thread/resume and turn/start fields. Per-turn settings (model, sandbox, cwd, images, output
// schema) go on turn/start, so a warm loaded thread gets them on every turn, as exec re-sends its
// flags. The host-tool bridge is the thread's own config (it differs per agent, and a server is
// shared by the agents of one CODEX_HOME); everything else went to the server process as `-c`
// (app-server-backend.ts). Pure.
import type { SandboxMode } from "../core/canonical-event.js";
import { mcpServerSettings } from "../mcp/mcp-server-overrides.js";
import type { CodexRun } from "../turn/codex-backend.js";
import type { JsonValue } from "./protocol/serde_json/JsonValue.js";
import type { SandboxPolicy } from "./protocol/v2/SandboxPolicy.js";
import type { ClientParams } from "./protocol-methods.js";

/** thread/start's and thread/resume's sandbox: app-server has no "bypass"; full access is it. */
function threadSandbox(
  sandbox: SandboxMode,
): "read-only" | "workspace-write" | "danger-full-access" {
  return sandbox === "bypass" ? "danger-full-access" : sandbox;
}

/** turn/start's sandbox policy, re-asserted on every turn (writable dirs, network access). */
export function sandboxPolicyOf(run: CodexRun): SandboxPolicy {
  switch (run.sandbox) {
    case "bypass":
    case "danger-full-access":
      return { type: "dangerFullAccess" };
    case "read-only":
      return { type: "readOnly", networkAccess: false };
    case "workspace-write": {
      // A full policy replaces the config's sandbox_workspace_write table: carry its tmp flags.
      const table = literalsOf(run.configOverrides, "sandbox_workspace_write.");
      return {
        type: "workspaceWrite",
        writableRoots: [...run.writableDirs],
        networkAccess: run.networkAccess ?? table["network_access"] === true,
        excludeTmpdirEnvVar: table["exclude_tmpdir_env_var"] === true,
        excludeSlashTmp: table["exclude_slash_tmp"] === true,
      };
    }
  }
}

/**
 * The thread's own `config` overrides: the run's MCP servers (the host-tool bridge), which codex
 * layers over the server's `-c` into this thread's config, so the thread starts them and sees only
 * them (verified, 0.169.0). A thread that is already loaded ignores a resume's config and keeps the
 * servers it was loaded with; the bridge of an agent is stable (its socket), so that is the same.
 */
export function threadConfigOf(run: CodexRun): { config?: { [key: string]: JsonValue } } {
  const settings = run.mcpServers.flatMap((server) => mcpServerSettings(server));
  return settings.length === 0 ? {} : { config: Object.fromEntries(settings) };
}

/** threadConfigOf(run) as one comparable string: what a loaded thread was loaded with. */
export function threadConfigKey(run: CodexRun): string {
  return JSON.stringify(threadConfigOf(run).config ?? {});
}

/** A new thread: approval "never", as exec (nobody is there to approve). */
export function threadStartParams(run: CodexRun): ClientParams<"thread/start"> {
  return {
    cwd: run.cwd,
    approvalPolicy: "never",
    sandbox: threadSandbox(run.sandbox),
    ...(run.cliModel === undefined ? {} : { model: run.cliModel }),
    ...threadConfigOf(run),
  };
}

/** Loads a stored thread from its rollout. */
export function threadResumeParams(run: CodexRun, threadId: string): ClientParams<"thread/resume"> {
  return {
    threadId,
    cwd: run.cwd,
    approvalPolicy: "never",
    sandbox: threadSandbox(run.sandbox),
    ...(run.cliModel === undefined ? {} : { model: run.cliModel }),
    ...threadConfigOf(run),
  };
}

/** One turn: the prompt, then the images (exec's `--image` order), and the per-turn settings. */
export function turnStartParams(
  run: CodexRun,
  threadId: string,
  outputSchema: unknown,
): ClientParams<"turn/start"> {
  return {
    threadId,
    input: [
      { type: "text", text: run.prompt, text_elements: [] },
      ...run.images.map((path) => ({ type: "localImage" as const, path })),
    ],
    cwd: run.cwd,
    approvalPolicy: "never",
    sandboxPolicy: sandboxPolicyOf(run),
    ...(run.cliModel === undefined ? {} : { model: run.cliModel }),
    ...knobsOf(run.configOverrides),
    ...(outputSchema === undefined ? {} : { outputSchema: outputSchema as never }),
  };
}

// The reasoning knobs of the run's overrides (the last one wins, as in codex), sent on turn/start
// too: a resumed thread takes its own recorded effort over the server's `-c` (verified, 0.169.0).
function knobsOf(overrides: readonly string[]): { effort?: never; summary?: never } {
  const all = literalsOf(overrides, "model_reasoning_");
  const knobs: Record<string, unknown> = {};
  if (typeof all["effort"] === "string") knobs["effort"] = all["effort"];
  if (typeof all["summary"] === "string") knobs["summary"] = all["summary"];
  return knobs as { effort?: never; summary?: never };
}

/** The JSON-readable literals of `prefix<key>=<literal>` overrides, by key; the last one wins. */
function literalsOf(overrides: readonly string[], prefix: string): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const assignment of overrides) {
    const at = assignment.indexOf("=");
    const key = assignment.slice(0, at);
    if (at === -1 || !key.startsWith(prefix)) continue;
    try {
      values[key.slice(prefix.length)] = JSON.parse(assignment.slice(at + 1)) as unknown;
    } catch {
      // Not a JSON-readable literal; the server's `-c` still carries it.
    }
  }
  return values;
}
