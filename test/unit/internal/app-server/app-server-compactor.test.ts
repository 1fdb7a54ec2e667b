// The exec backend's compactor against the fake app-server: a compaction's figures, and the call
// errors it turns codex's failures into (an older codex, a crash, a turn that did not compact).
import { resolve } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { AppServerCompactor } from "../../../../internal/app-server/app-server-compactor.js";
import { ProcessRegistry } from "../../../../internal/proc/process-registry.js";
import { ProcessScanner } from "../../../../internal/proc/process-scanner.js";
import type { CompactionRun } from "../../../../internal/turn/thread-compactor.js";
import { silentLogger } from "../../../helpers/fake-codex.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

const FAKE = resolve("test/fixtures/bin/fake-app-server.mjs");
const THREAD = "01a23c97-e873-7082-9653-3c4bf8b52dd5";

describe("AppServerCompactor", () => {
  const temp = createTempDirs();
  const processes = new ProcessRegistry();
  let dir: string;

  beforeEach(async () => {
    dir = await temp.make("compactor");
  });
  afterEach(async () => {
    await processes.killAll();
    await temp.removeAll();
  });

  function compactor(mode: string): AppServerCompactor {
    return new AppServerCompactor({
      env: { PATH: process.env["PATH"] ?? "", FAKE_APP_SERVER_MODE: mode },
      interruptGraceMs: 300,
      terminateGraceMs: 300,
      processes,
      scanner: new ProcessScanner(),
      timeoutMs: 10_000,
      clientInfo: { name: "plexum_test", version: "1" },
    });
  }

  function run(): CompactionRun {
    return {
      agentId: "a",
      threadId: THREAD,
      codex: { path: FAKE },
      cwd: dir,
      codexHome: dir,
      sqliteHome: undefined,
      cliModel: undefined,
      configOverrides: [],
      env: { set: {}, unset: [] },
      logger: silentLogger,
    };
  }

  it("compacts and stops its server", async () => {
    const result = await compactor("").compact(run(), new AbortController().signal);
    expect(result).toMatchObject({ tokensBefore: 1050, tokensAfter: 321 });
    expect(processes.size).toBe(0);
  });

  it("maps codex's failures to call errors", async () => {
    const signal = new AbortController().signal;
    await expect(compactor("no-method").compact(run(), signal)).rejects.toMatchObject({
      code: "CODEX_UNSUPPORTED",
    });
    await expect(compactor("crash-on-resume").compact(run(), signal)).rejects.toMatchObject({
      code: "COMPACTION_FAILED",
      message: expect.stringContaining("exit code 3"),
    });
    await expect(compactor("compact-fails").compact(run(), signal)).rejects.toMatchObject({
      code: "COMPACTION_FAILED",
      message: expect.stringContaining("model said no"),
    });
    expect(processes.size).toBe(0);
  });

  it("kills its server at once when aborted", async () => {
    const controller = new AbortController();
    controller.abort({ kind: "shutdown", message: "plugin shutting down" });
    await expect(compactor("hang").compact(run(), controller.signal)).rejects.toMatchObject({
      code: "SHUTTING_DOWN",
    });
    expect(processes.size).toBe(0);
  });
});
