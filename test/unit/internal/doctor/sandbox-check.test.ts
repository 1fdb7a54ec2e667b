import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { CodexBinaryStatus } from "../../../../internal/codex/binary.js";
import { codexFeatures } from "../../../../internal/codex/codex-capabilities.js";
import {
  probeCodexSandbox,
  sandboxChecks,
  type SandboxProbe,
} from "../../../../internal/doctor/sandbox-check.js";
import { ProcessRegistry } from "../../../../internal/proc/process-registry.js";
import { findCodexBinary } from "../../../helpers/codex-bin.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

const processes = new ProcessRegistry();

const dirs = createTempDirs();
afterAll(() => dirs.removeAll());

const READY: CodexBinaryStatus = {
  ready: true,
  path: "/usr/local/bin/codex",
  source: "config",
  version: "0.169.0",
  degradedReason: "",
  features: codexFeatures("0.169.0"),
  notes: [],
};
const WORKS: SandboxProbe = { works: true, detail: "works" };
const BROKEN: SandboxProbe = { works: false, detail: "bwrap: No permissions" };

describe("sandboxChecks", () => {
  it("warns loudly about bypass, the default, and points at workspace-write when that works", () => {
    const [sandbox, codex] = sandboxChecks("bypass", WORKS, READY);
    expect(sandbox).toMatchObject({ name: "sandbox", status: "warn" });
    expect(sandbox?.detail).toContain('"bypass" (the default)');
    expect(sandbox?.detail).toContain("WITHOUT a sandbox");
    expect(sandbox?.remedy).toContain('"sandbox": "workspace-write"');
    expect(codex).toMatchObject({ name: "codex sandbox", status: "ok", detail: "works" });
  });

  it("only warns about a broken sandbox that the config does not use", () => {
    const results = sandboxChecks("bypass", BROKEN, READY);
    expect(results.map((result) => result.status)).toEqual(["warn", "warn"]);
    expect(results[0]?.remedy).not.toContain('set "sandbox"');
    expect(results[1]?.detail).toBe("bwrap: No permissions");
  });

  it("fails a confined sandbox that does not work here, or cannot be probed", () => {
    expect(sandboxChecks("workspace-write", WORKS, READY).map((r) => r.status)).toEqual([
      "ok",
      "ok",
    ]);
    expect(sandboxChecks("workspace-write", BROKEN, READY).map((r) => r.status)).toEqual([
      "ok",
      "fail",
    ]);
    const noCodex = { ...READY, ready: false };
    expect(sandboxChecks("read-only", undefined, noCodex)[1]).toMatchObject({ status: "fail" });
    expect(sandboxChecks("danger-full-access", undefined, noCodex)[0]).toMatchObject({
      status: "warn",
    });
  });
});

describe("probeCodexSandbox", () => {
  let root: string;
  beforeAll(async () => {
    root = await dirs.make("sandbox-probe");
  });

  /** A stand-in for `codex sandbox -P <profile> -C <dir> -- cmd...` with the given behaviour. */
  function fakeCodex(name: string, body: string): string {
    const file = join(root, name);
    writeFileSync(
      file,
      `#!/bin/sh\n# argv: sandbox -P <profile> -C <dir> -- cmd...\nprofile=$3 dir=$5\nshift 6\n${body}\n`,
    );
    chmodSync(file, 0o755);
    return file;
  }

  it("reports a sandbox that cannot start, with codex's own words", async () => {
    const codex = fakeCodex(
      "no-namespaces",
      'echo "bwrap: No permissions to create new namespace" >&2; exit 1',
    );
    const probe = await probeCodexSandbox(codex, process.env, 10_000, processes);
    expect(probe.works).toBe(false);
    expect(probe.detail).toContain("exited 1: bwrap: No permissions to create new namespace");
  });

  it("reports a sandbox that starts but does not confine", async () => {
    const codex = fakeCodex("no-confinement", 'cd "$dir" && exec "$@"');
    const probe = await probeCodexSandbox(codex, process.env, 10_000, processes);
    expect(probe).toEqual({ works: false, detail: expect.stringContaining("did not confine") });
  });

  it("says it could not probe a codex without `codex sandbox -P`", async () => {
    const codex = fakeCodex("old", "echo \"error: unexpected argument '-P' found\" >&2; exit 2");
    expect((await probeCodexSandbox(codex, process.env, 10_000, processes)).works).toBeUndefined();
  });

  it("passes a sandbox that runs commands and refuses writes under :read-only", async () => {
    const codex = fakeCodex(
      "confines",
      'cd "$dir" || exit 1\n' +
        'if [ "$profile" = ":read-only" ]; then echo "Read-only file system" >&2; exit 1; fi\n' +
        'exec "$@"',
    );
    expect((await probeCodexSandbox(codex, process.env, 10_000, processes)).works).toBe(true);
  });

  it("runs the real codex's sandbox (skipped, with codex's words, where this host has none)", async (context) => {
    const codex = findCodexBinary();
    if (!codex.found) throw new Error(codex.reason);
    const probe = await probeCodexSandbox(codex.path, process.env, 30_000, processes);
    if (probe.works !== true) {
      console.warn(`[sandbox-check] codex's sandbox does not work on this host: ${probe.detail}`);
      context.skip();
    }
    expect(probe.detail).toContain("codex's Linux sandbox works here");
  });
});
