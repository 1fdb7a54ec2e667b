// `codex --version`, once per binary build: keyed by path, mtime and size, so an upgrade in place
// is probed again. The owner (the plugin's core, or the doctor) creates the probes and passes them
// down; the command runs through the one short-command API.
import { stat } from "node:fs/promises";

import type { ProcessRegistry } from "../proc/process-registry.js";
import { runCommand } from "../proc/run-command.js";
import { buildChildEnv } from "./child-env.js";
import { parseCodexVersion } from "./codex-version.js";

/** A version, or why there is none. */
export type ProbeResult = { version: string } | { reason: string };

/** The `codex --version` probes of one owner. */
export class CodexVersionProbes {
  readonly #processes: ProcessRegistry;
  readonly #probes = new Map<string, Promise<ProbeResult>>();

  constructor(processes: ProcessRegistry) {
    this.#processes = processes;
  }

  /** The version `path` reports, probed once per build of it. */
  async version(path: string, timeoutMs: number, env: NodeJS.ProcessEnv): Promise<ProbeResult> {
    const info = await stat(path);
    const key = `${path}\0${info.mtimeMs}\0${info.size}`;
    let probe = this.#probes.get(key);
    if (probe === undefined) {
      probe = this.#probe(path, timeoutMs, env);
      this.#probes.set(key, probe);
      // A failed probe (timeout on a loaded machine) is retried next time instead of sticking.
      void probe.then((result) => {
        if ("reason" in result) this.#probes.delete(key);
      });
    }
    return probe;
  }

  async #probe(path: string, timeoutMs: number, env: NodeJS.ProcessEnv): Promise<ProbeResult> {
    const result = await runCommand(path, ["--version"], {
      env: buildChildEnv(env),
      timeoutMs,
      processes: this.#processes,
    });
    if (result.timedOut) {
      return { reason: `\`${path} --version\` did not answer within ${timeoutMs} ms` };
    }
    const stdout = result.stdout.toString("utf8");
    const version = parseCodexVersion(stdout);
    if (result.exitCode !== 0 || version === undefined) {
      const stderr = result.stderr.slice(-500);
      const what =
        result.spawnError?.message ??
        (result.exitCode === undefined ? "killed" : `exit ${result.exitCode}`);
      return {
        reason:
          `\`${path} --version\` did not report a codex-cli version (${what}` +
          `${stdout === "" ? "" : `, stdout: ${stdout.slice(0, 200)}`}` +
          `${stderr === "" ? "" : `, stderr: ${stderr}`})`,
      };
    }
    return { version };
  }
}
