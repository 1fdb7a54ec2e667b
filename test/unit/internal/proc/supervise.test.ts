import { readFileSync } from "node:fs";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { ProcessRegistry } from "../../../../internal/proc/process-registry.js";
import { ProcessScanner } from "../../../../internal/proc/process-scanner.js";
import { type SupervisedProcess, superviseProcess } from "../../../../internal/proc/supervise.js";
import { fakeCodex, isAlive, waitFor, writeFakeControl } from "../../../helpers/fake-codex.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

interface FakePids {
  self: number;
  stubborn: number;
  session: number;
}

async function readStdout(child: SupervisedProcess): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of child.stdout) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

describe("superviseProcess", () => {
  const temp = createTempDirs();
  const processes = new ProcessRegistry();
  const scanner = new ProcessScanner();
  let home: string;

  beforeEach(async () => {
    home = await temp.make("proc");
  });
  afterEach(async () => {
    await processes.killAll();
    await temp.removeAll();
  });

  function start(
    file: string,
    extra: Partial<Parameters<typeof superviseProcess>[0]> = {},
  ): SupervisedProcess {
    return superviseProcess({
      file,
      args: ["exec", "--json", "-"],
      cwd: home,
      env: { PATH: process.env["PATH"] ?? "", CODEX_HOME: home },
      input: "hello",
      interruptGraceMs: 300,
      terminateGraceMs: 300,
      processes,
      scanner,
      ...extra,
    });
  }

  async function hangPids(): Promise<FakePids> {
    const path = join(home, "fake-pids.json");
    expect(await waitFor(() => existsJson(path), 5000)).toBe(true);
    return JSON.parse(readFileSync(path, "utf8")) as FakePids;
  }

  it("passes stdin, streams stdout and reports a clean exit", async () => {
    const child = start(fakeCodex("fake-codex.mjs"), { input: "x".repeat(300 * 1024) });
    const stdout = await readStdout(child);
    const result = await child.result;
    expect(stdout).toContain(`prompt had ${300 * 1024} chars`);
    expect(result).toMatchObject({
      exitCode: 0,
      signal: undefined,
      termination: "none",
      spawnError: undefined,
    });
  });

  it("survives EPIPE when the child exits without reading a large prompt", async () => {
    const child = start(fakeCodex("fake-codex-exit-early.mjs"), {
      input: "y".repeat(4 * 1024 * 1024),
    });
    await readStdout(child);
    const result = await child.result;
    expect(result.exitCode).toBe(1);
    expect(result.stderrTail).toContain("Error finding codex home");
  });

  it("keeps only a bounded stderr tail", async () => {
    const child = start(process.execPath, {
      args: ["-e", "process.stderr.write('A'.repeat(100000) + 'THE END')"],
      stderrTailBytes: 1024,
    });
    await readStdout(child);
    const result = await child.result;
    expect(result.stderrTail.length).toBe(1024);
    expect(result.stderrTail.endsWith("THE END")).toBe(true);
  });

  it("reports a spawn failure instead of throwing", async () => {
    const child = start(join(home, "no-such-codex"));
    await readStdout(child);
    const result = await child.result;
    expect(result.spawnError?.code).toBe("ENOENT");
    expect(result.exitCode).toBeUndefined();
  });

  it("stops at SIGINT when the child exits on it, and still reaps its group and session children", async () => {
    await writeFakeControl(home, { exitOnInt: true });
    const child = start(fakeCodex("fake-codex-hang.mjs"));
    const pids = await hangPids();
    child.terminate("cancelled");
    const result = await child.result;
    expect(result).toMatchObject({
      exitCode: 1,
      termination: "interrupt",
      terminationReason: "cancelled",
    });
    expect(await waitFor(() => !isAlive(pids.stubborn) && !isAlive(pids.session), 2000)).toBe(true);
  });

  it("escalates SIGINT → SIGTERM → SIGKILL and leaves no grandchild alive", async () => {
    await writeFakeControl(home, { ignoreTerm: true });
    const child = start(fakeCodex("fake-codex-hang.mjs"));
    const pids = await hangPids();
    expect(isAlive(pids.stubborn) && isAlive(pids.session)).toBe(true);
    const startedAt = Date.now();
    child.terminate("timeout");
    const result = await child.result;
    const elapsed = Date.now() - startedAt;
    expect(result).toMatchObject({
      signal: "SIGKILL",
      termination: "kill",
      terminationReason: "timeout",
    });
    expect(elapsed).toBeGreaterThanOrEqual(550);
    expect(elapsed).toBeLessThan(5000);
    expect(isAlive(pids.self)).toBe(false);
    // One grandchild ignores SIGTERM in codex's group; the other sits in its own session.
    expect(await waitFor(() => !isAlive(pids.stubborn) && !isAlive(pids.session), 2000)).toBe(true);
  });

  it("stops at SIGTERM when the child honours it", async () => {
    const child = start(fakeCodex("fake-codex-hang.mjs"));
    const pids = await hangPids();
    child.terminate("cancelled");
    const result = await child.result;
    expect(result).toMatchObject({ signal: "SIGTERM", termination: "terminate" });
    expect(await waitFor(() => !isAlive(pids.stubborn) && !isAlive(pids.session), 2000)).toBe(true);
  });

  it("the registry's killAll kills every live child within about a second", async () => {
    await writeFakeControl(home, { ignoreTerm: true });
    const children = [start(fakeCodex("fake-codex-hang.mjs"), { interruptGraceMs: 60_000 })];
    const pids = await hangPids();
    expect(processes.size).toBeGreaterThanOrEqual(1);
    const startedAt = Date.now();
    await processes.killAll();
    expect(Date.now() - startedAt).toBeLessThan(1500);
    const results = await Promise.all(children.map((child) => child.result));
    expect(results[0]).toMatchObject({ signal: "SIGKILL", terminationReason: "plugin shutdown" });
    expect(await waitFor(() => !isAlive(pids.stubborn) && !isAlive(pids.session), 2000)).toBe(true);
    expect(processes.size).toBe(0);
  });
});

function existsJson(path: string): boolean {
  try {
    JSON.parse(readFileSync(path, "utf8"));
    return true;
  } catch {
    return false;
  }
}
