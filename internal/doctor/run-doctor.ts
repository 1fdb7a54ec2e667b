// `plexum-openai-provider-plugin doctor [--config file]`: reads the config the daemon would hand
// the plugin, runs every check and prints one plain line per finding. Exit code 0 only when no
// check failed (warnings do not fail).
import { resolveCodexBinary } from "../codex/binary.js";
import { effectiveCodexHome } from "../codex/codex-home.js";
import { CodexVersionProbes } from "../codex/version-probe.js";
import { configSchema } from "../config/config-schema.js";
import { parseConfig, type ParsedConfig } from "../config/load-config.js";
import { readPluginConfigFile } from "../config/plugin-config-file.js";
import { isAppError } from "../core/app-error.js";
import { ProcessRegistry } from "../proc/process-registry.js";
import {
  authCheck,
  authStatusFor,
  type CheckResult,
  codexChecks,
  codexHomeChecks,
  endpointCheck,
  probeTarget,
  socketChecks,
  writableCheck,
} from "./checks.js";
import { nodeChecks } from "./node-check.js";
import { probeCodexSandbox, sandboxChecks, type SandboxProbe } from "./sandbox-check.js";

export interface DoctorOptions {
  /** A plugin config object file, or a daemon config.json with a `providers` list. */
  configFile?: string | undefined;
  /** With a daemon config.json: the provider entry to use (default: the first). */
  provider?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Bound on the endpoint request. */
  endpointTimeoutMs?: number;
  fetchImpl?: typeof fetch;
  /** The node running the doctor (default: this process's); for tests. */
  currentNode?: { path: string; version: string };
  /** Replaces the real `codex sandbox` probe; for tests. */
  probeSandbox?: (codexPath: string, env: NodeJS.ProcessEnv) => Promise<SandboxProbe>;
}

export interface DoctorReport {
  results: CheckResult[];
  /** 0 when nothing failed, 1 otherwise. */
  exitCode: number;
  text: string;
}

const MARK: Record<CheckResult["status"], string> = { ok: "OK  ", warn: "WARN", fail: "FAIL" };

/** Runs every check. Never throws: an unreadable config is itself a failed check. */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env ?? process.env;
  const results: CheckResult[] = [];
  // The short commands the checks run (node and codex probes), killed with the doctor if it dies.
  const processes = new ProcessRegistry();
  const source = options.configFile ?? "(no --config: the defaults)";
  let parsed: ParsedConfig | undefined;
  let json: unknown = {};
  try {
    json =
      options.configFile === undefined
        ? {}
        : (await readPluginConfigFile(options.configFile, options.provider)).config;
    parsed = parseConfig(asSent(json), { env });
    results.push({
      name: "config",
      status: "ok",
      detail: `${source} is valid; state_dir ${parsed.config.stateDir}`,
    });
    for (const warning of parsed.warnings) {
      results.push({
        name: "config",
        status: "warn",
        detail: `${warning.field}: ${warning.message}`,
        remedy: "fix it in the plugin config",
      });
    }
  } catch (error) {
    const message = isAppError(error) || error instanceof Error ? error.message : String(error);
    for (const line of splitConfigErrors(message)) {
      results.push({
        name: "config",
        status: "fail",
        detail: line,
        remedy: `fix ${source}; the daemon's Configure call would be refused with INVALID_ARGUMENT`,
      });
    }
  }

  // With a broken config the remaining checks run on what is left without the bad keys, so one
  // pass shows every problem.
  const config = (parsed ?? parseWithout(json, env)).config;
  const binary = await resolveCodexBinary({
    binary: config.binary,
    versionProbeMs: config.timeouts.versionProbeMs,
    env,
    probes: new CodexVersionProbes(processes),
  });
  results.push(...(await nodeChecks({ env, current: options.currentNode, processes })));
  results.push(...codexChecks(binary, config.backend));
  const auth = await authStatusFor(config, env);
  results.push(
    authCheck(auth, {
      codex: binary.ready ? binary.path : "codex",
      codexHome: effectiveCodexHome(config.codexHome, env),
    }),
  );
  results.push(
    await endpointCheck(
      await probeTarget(config, env, auth),
      options.endpointTimeoutMs ?? 5000,
      options.fetchImpl,
    ),
  );
  const probeSandbox =
    options.probeSandbox ??
    ((codex: string, probeEnv: NodeJS.ProcessEnv) =>
      probeCodexSandbox(codex, probeEnv, config.timeouts.versionProbeMs, processes));
  const probe = binary.ready ? await probeSandbox(binary.path, env) : undefined;
  results.push(...sandboxChecks(config.sandbox, probe, binary));
  results.push(await writableCheck("state_dir", config.stateDir));
  results.push(...(await codexHomeChecks(config, env)));
  results.push(...(await socketChecks(config, env)));

  const failed = results.filter((result) => result.status === "fail").length;
  const warned = results.filter((result) => result.status === "warn").length;
  const lines = [`plexum-openai-provider-plugin doctor: config ${source}`];
  for (const result of results) {
    lines.push(`${MARK[result.status]}  ${result.name}: ${result.detail}`);
    if (result.remedy !== undefined && result.status !== "ok") {
      lines.push(`      what to do: ${result.remedy}`);
    }
  }
  lines.push(
    failed === 0
      ? `All checks passed${warned === 0 ? "" : ` (${warned} warning${warned === 1 ? "" : "s"})`}.`
      : `${failed} check${failed === 1 ? "" : "s"} failed.`,
  );
  return { results, exitCode: failed === 0 ? 0 : 1, text: `${lines.join("\n")}\n` };
}

function parseWithout(json: unknown, env: NodeJS.ProcessEnv): ParsedConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return parseConfig({}, { env });
  }
  // Unknown keys go first (however many there are); then each failure names a bounded list of
  // fields: drop their keys and retry, at most once per known key, until the rest parses.
  const remaining: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    if (Object.hasOwn(configSchema.shape, key)) remaining[key] = value;
  }
  for (;;) {
    try {
      return parseConfig(remaining, { env });
    } catch (error) {
      const fields = isAppError(error) ? error.fields : [];
      const keys = fields
        .map((field) => field.split(".")[0] ?? field)
        .filter((key) => key in remaining);
      if (keys.length === 0) return parseConfig({}, { env });
      for (const key of keys) delete remaining[key];
    }
  }
}

// The config as the daemon sends it, JSON text, so that its size is checked as Configure does;
// a nesting too deep to serialise is left to parseConfig, which reports it.
function asSent(json: unknown): unknown {
  try {
    return JSON.stringify(json);
  } catch {
    return json;
  }
}

// parseConfig reports every field in one message: "invalid plugin config: a: x; b: y; and 3 more
// problems". Messages hold "; " too, so only a "; " before the next field (or the count) splits.
const NEXT_PROBLEM =
  /; (?=(?:\(root\)|[A-Za-z_][^\s:;]*)(?:… \(\d+ characters\))?: |and \d+ more problems?$)/;

function splitConfigErrors(message: string): string[] {
  const prefix = "invalid plugin config: ";
  if (!message.startsWith(prefix)) return [message];
  return message
    .slice(prefix.length)
    .split(NEXT_PROBLEM)
    .filter((part) => part !== "");
}
