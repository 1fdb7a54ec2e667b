// The doctor's sandbox lines: what the configured `sandbox` lets codex's commands do, and whether
// codex's own Linux sandbox works on this host, tried with the configured codex (`codex sandbox`
// with its built-in permission profiles `:workspace` and `:read-only`, codex 0.169.0), so an
// operator can choose workspace-write knowingly. The probe runs in a temp directory with a
// throw-away CODEX_HOME and leaves nothing behind.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { CodexBinaryStatus } from "../codex/binary.js";
import { buildChildEnv } from "../codex/child-env.js";
import type { SandboxMode } from "../core/canonical-event.js";
import type { ProcessRegistry } from "../proc/process-registry.js";
import { runCommand } from "../proc/run-command.js";
import type { CheckResult } from "./checks.js";

/** What one run of `codex sandbox` did. */
export interface SandboxRun {
  exitCode: number | null;
  /** Whether the command's file appeared in the workspace. */
  wrote: boolean;
  /** The end of codex's stderr, for the report. */
  stderr: string;
}

/** Whether codex's sandbox confines a command here, and the evidence. */
export type SandboxProbe =
  | { works: true; detail: string }
  | { works: false; detail: string }
  | { works: undefined; detail: string };

/**
 * Runs `codex sandbox -P :workspace` (a write into the workspace must succeed) and
 * `-P :read-only` (the same write must fail). Both as expected means the sandbox both starts and
 * confines.
 */
export async function probeCodexSandbox(
  codexPath: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  processes: ProcessRegistry,
): Promise<SandboxProbe> {
  const root = await mkdtemp(join(tmpdir(), "plexum-doctor-sandbox-"));
  try {
    const workspace = join(root, "workspace");
    const codexHome = join(root, "codex-home");
    await mkdir(workspace);
    await mkdir(codexHome);
    const run = (profile: string, file: string) =>
      runSandboxed(codexPath, profile, workspace, file, {
        env: buildChildEnv(env, { codexHome }),
        timeoutMs,
        processes,
      });
    const writable = await run(":workspace", "written-under-workspace");
    if (writable.exitCode !== 0 || !writable.wrote) {
      const unsupported = /unexpected argument|unrecognized subcommand|unknown built-in profile/i;
      if (unsupported.test(writable.stderr)) {
        return {
          works: undefined,
          detail: `this codex has no \`codex sandbox -P :workspace\` to probe with (${oneLine(writable.stderr)})`,
        };
      }
      return {
        works: false,
        detail:
          `codex's sandbox did not run a command here (\`codex sandbox -P :workspace\` exited ` +
          `${String(writable.exitCode)}${writable.stderr === "" ? "" : `: ${oneLine(writable.stderr)}`})`,
      };
    }
    const blocked = await run(":read-only", "written-under-read-only");
    if (blocked.wrote) {
      return {
        works: false,
        detail:
          "codex's sandbox started but did not confine: a command under `-P :read-only` wrote " +
          "into the workspace",
      };
    }
    return {
      works: true,
      detail:
        "codex's Linux sandbox works here: under `codex sandbox -P :workspace` a command wrote " +
        "into its workspace, under `-P :read-only` the same write was refused",
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function runSandboxed(
  codexPath: string,
  profile: string,
  workspace: string,
  file: string,
  options: { env: Record<string, string>; timeoutMs: number; processes: ProcessRegistry },
): Promise<SandboxRun> {
  const args = ["sandbox", "-P", profile, "-C", workspace, "--", "/bin/sh", "-c", `: > ${file}`];
  const result = await runCommand(codexPath, args, options);
  return {
    exitCode: result.exitCode ?? null,
    wrote: existsSync(join(workspace, file)),
    stderr: (result.spawnError?.message ?? result.stderr).trim().slice(-600),
  };
}

/**
 * The `sandbox` line (loud about bypass, the default) and the `codex sandbox` line. A sandbox
 * that does not work fails the doctor only when the config asks codex to use it.
 */
export function sandboxChecks(
  mode: SandboxMode,
  probe: SandboxProbe | undefined,
  binary: CodexBinaryStatus,
): CheckResult[] {
  const confined = mode === "read-only" || mode === "workspace-write";
  const results: CheckResult[] = [];
  if (confined) {
    results.push({
      name: "sandbox",
      status: "ok",
      detail:
        mode === "read-only"
          ? 'sandbox is "read-only": commands codex runs cannot write anywhere, and have no network'
          : 'sandbox is "workspace-write": commands codex runs can write only in the workspace, ' +
            "writable_dirs and the temp dirs, with network_access deciding the network",
    });
  } else {
    results.push({
      name: "sandbox",
      status: "warn",
      detail:
        `sandbox is "${mode}"${mode === "bypass" ? " (the default)" : ""}: codex runs every ` +
        "command the model asks for WITHOUT a sandbox, with this user's full rights and network " +
        `access (uid ${process.getuid?.() ?? "?"})`,
      remedy:
        probe?.works === true
          ? 'codex\'s sandbox works on this host (next line): set "sandbox": "workspace-write" ' +
            "to confine commands to the workspace, unless the agents need more"
          : "keep it only where the model may do anything this user can (a container or a " +
            'dedicated user); see the next line before choosing "workspace-write"',
    });
  }
  if (!binary.ready || probe === undefined) {
    results.push({
      name: "codex sandbox",
      status: confined ? "fail" : "warn",
      detail: "not probed: there is no usable codex (see the codex line)",
      remedy: "fix the codex line, then run doctor again",
    });
    return results;
  }
  if (probe.works === true) {
    results.push({ name: "codex sandbox", status: "ok", detail: probe.detail });
  } else if (probe.works === undefined) {
    results.push({
      name: "codex sandbox",
      status: "warn",
      detail: probe.detail,
      remedy: `try a ${mode === "bypass" ? "" : `"${mode}" `}turn by hand before relying on it`,
    });
  } else {
    results.push({
      name: "codex sandbox",
      status: confined ? "fail" : "warn",
      detail: probe.detail,
      remedy: confined
        ? `turns under "${mode}" would fail or run unconfined here; fix the host (user ` +
          "namespaces, bubblewrap, seccomp; codex's docs) or choose another sandbox knowingly"
        : '"workspace-write" and "read-only" would not work on this host as it is',
    });
  }
  return results;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim().slice(0, 400);
}
