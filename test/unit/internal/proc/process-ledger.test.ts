import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import {
  LEDGER_DIR_NAME,
  type LedgerProcess,
  type LedgerRecord,
  ProcessLedger,
} from "../../../../internal/proc/process-ledger.js";
import { reapLeftovers } from "../../../../internal/proc/process-reaper.js";
import { readProcessInfo } from "../../../../internal/proc/process-tree.js";
import { isAlive, waitFor } from "../../../helpers/fake-codex.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

const bootId = () => readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
// Far in the future: children started by this test count as older than "the plugin".
const NOT_AFTER = String(2n ** 62n);
const DEAD_OWNER = { pid: 2 ** 22 + 17, start_time: "1" };

async function ledgerEntry(pid: number): Promise<LedgerProcess> {
  const info = await readProcessInfo(pid);
  if (info === undefined) throw new Error(`process ${pid} is gone`);
  return { pid, start_time: info.startTime, pgid: info.pgid, sid: info.sid ?? 0 };
}

describe.runIf(process.platform === "linux")("process ledger and boot reaper", () => {
  const temp = createTempDirs();
  const spawned: number[] = [];
  let stateDir: string;
  let ledgerDir: string;

  beforeEach(async () => {
    stateDir = await temp.make("ledger");
    ledgerDir = join(stateDir, LEDGER_DIR_NAME);
    await mkdir(ledgerDir, { recursive: true });
  });
  afterEach(async () => {
    for (const pid of spawned.splice(0)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Gone.
      }
    }
    await temp.removeAll();
  });

  // A process in its own session, like codex.
  function detached(script: string, env: NodeJS.ProcessEnv = process.env): number {
    const child = spawn("/bin/sh", ["-c", script], { stdio: "ignore", detached: true, env });
    child.unref();
    spawned.push(child.pid as number);
    return child.pid as number;
  }

  async function writeRecord(record: Partial<LedgerRecord> & { process: LedgerProcess }) {
    const full: LedgerRecord = {
      version: 1,
      boot_id: bootId(),
      owner: DEAD_OWNER,
      run_marker: randomUUID(),
      started_at: new Date().toISOString(),
      descendants: [],
      ...record,
    };
    const path = join(ledgerDir, `${full.process.pid}-${full.process.start_time}.json`);
    await writeFile(path, JSON.stringify(full));
    return path;
  }

  it("records a child with its start time and descendants, and removes the record when reaped", async () => {
    const ledger = new ProcessLedger(stateDir);
    const accounting = ledger.track({ agentId: "alice" });
    const pid = detached("sleep 30");
    accounting.spawned(pid, "marker-1");
    const [name] = readdirSync(ledgerDir);
    const record = JSON.parse(
      readFileSync(join(ledgerDir, name as string), "utf8"),
    ) as LedgerRecord;
    expect(record).toMatchObject({
      version: 1,
      boot_id: bootId(),
      owner: { pid: process.pid },
      process: await ledgerEntry(pid),
      agent_id: "alice",
      run_marker: "marker-1",
      descendants: [],
    });
    expect(name).toBe(`${pid}-${record.process.start_time}.json`);
    accounting.descendants([{ pid: 4242, ppid: pid, pgid: 4242, sid: 4242, startTime: "99" }]);
    const updated = JSON.parse(
      readFileSync(join(ledgerDir, name as string), "utf8"),
    ) as LedgerRecord;
    expect(updated.descendants).toEqual([{ pid: 4242, start_time: "99", pgid: 4242, sid: 4242 }]);
    accounting.reaped();
    expect(readdirSync(ledgerDir)).toEqual([]);
  });

  it("kills a leftover codex, its group, its descendants and an orphan in a recorded session", async () => {
    // "codex": a session leader with a child in its own group.
    const codex = detached("sleep 1000 & exec sleep 1001");
    // A command session whose leader already died, leaving a grandchild that ignores SIGTERM.
    const commandLeader = detached("(trap '' TERM INT; exec sleep 1002) & sleep 0.3");
    const leaderEntry = await ledgerEntry(commandLeader);
    await waitFor(() => !isAlive(commandLeader), 3000);
    const path = await writeRecord({
      process: await ledgerEntry(codex),
      descendants: [leaderEntry],
    });
    const orphan = await findBySid(leaderEntry.sid);
    const codexChild = await findBySid(codex);
    expect(orphan.length).toBe(1);
    expect(codexChild.length).toBe(2);

    const report = await reapLeftovers(stateDir, { notAfter: NOT_AFTER, interruptGraceMs: 200 });
    expect(report.records).toBe(1);
    // "codex" itself exits on the SIGINT; its background child (SIGINT ignored, as sh does for
    // background jobs) and the orphan (SIGTERM and SIGINT ignored) need the SIGKILL.
    const background = codexChild.filter((pid) => pid !== codex);
    expect(report.killed.map((entry) => entry.pid).sort()).toEqual(
      [...orphan, ...background].sort(),
    );
    expect(report.survivors).toEqual([]);
    expect(report.removed).toBe(1);
    for (const pid of [...orphan, ...codexChild]) expect(isAlive(pid)).toBe(false);
    expect(readdirSync(ledgerDir)).not.toContain(path.split("/").at(-1));
  });

  it("finds what inherited a leftover run's marker, even in a session nobody recorded", async () => {
    const marker = randomUUID();
    const codex = detached("exec sleep 1007", { ...process.env, PLEXUM_CODEX_RUN: marker });
    // A grandchild that escaped into a new session of its own after its parent died.
    const parent = detached("setsid sleep 1008 & sleep 0.2", {
      ...process.env,
      PLEXUM_CODEX_RUN: marker,
    });
    await waitFor(() => !isAlive(parent), 3000);
    const [escaped] = await findByArgv("1008");
    expect(escaped).toBeDefined();
    await writeRecord({ process: await ledgerEntry(codex), run_marker: marker });
    const report = await reapLeftovers(stateDir, { notAfter: NOT_AFTER, interruptGraceMs: 100 });
    expect(report.killed.map((entry) => entry.pid)).toContain(escaped);
    expect(isAlive(escaped as number)).toBe(false);
    expect(isAlive(codex)).toBe(false);
    expect(report.survivors).toEqual([]);
  });

  it("never signals a recycled pid: the start time differs", async () => {
    const innocent = detached("exec sleep 1003");
    const entry = await ledgerEntry(innocent);
    await writeRecord({ process: { ...entry, start_time: String(BigInt(entry.start_time) - 1n) } });
    const report = await reapLeftovers(stateDir, { notAfter: NOT_AFTER, interruptGraceMs: 100 });
    expect(report.killed).toEqual([]);
    expect(report.removed).toBe(1);
    expect(isAlive(innocent)).toBe(true);
  });

  it("leaves the records of a live plugin alone, and drops records from an earlier boot", async () => {
    const running = detached("exec sleep 1004");
    const entry = await ledgerEntry(running);
    const self = await ledgerEntry(process.pid);
    await writeRecord({ process: entry, owner: { pid: process.pid, start_time: self.start_time } });
    const otherBoot = detached("exec sleep 1005");
    await writeRecord({ process: await ledgerEntry(otherBoot), boot_id: "another-boot" });
    await writeFile(join(ledgerDir, "garbage.json"), "{");
    await writeFile(join(ledgerDir, "123-456.json.tmp-1"), "{");

    const report = await reapLeftovers(stateDir, { notAfter: NOT_AFTER });
    expect(report).toMatchObject({ records: 3, ownedByLivePlugin: 1, killed: [], removed: 2 });
    expect(isAlive(running)).toBe(true);
    expect(isAlive(otherBoot)).toBe(true);
    expect(readdirSync(ledgerDir)).toEqual([`${running}-${entry.start_time}.json`]);
  });

  it("does not kill session members that started after the reaping plugin", async () => {
    const leader = detached("sleep 1006 & sleep 0.3");
    const entry = await ledgerEntry(leader);
    await waitFor(() => !isAlive(leader), 3000);
    const [member] = await findBySid(entry.sid);
    const memberStart = (await ledgerEntry(member as number)).start_time;
    await writeRecord({ process: entry });
    const report = await reapLeftovers(stateDir, {
      notAfter: String(BigInt(memberStart) - 1n),
    });
    expect(report.killed).toEqual([]);
    expect(isAlive(member as number)).toBe(true);
  });

  it("is a no-op without a ledger directory", async () => {
    const empty = await temp.make("ledger-empty");
    expect(await reapLeftovers(empty)).toMatchObject({ records: 0, killed: [] });
  });
});

async function findByArgv(arg: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      if (argv[0] === "sleep" && argv[1] === arg) found.push(Number(name));
    } catch {
      // Gone.
    }
  }
  return found;
}

async function findBySid(sid: number): Promise<number[]> {
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const info = await readProcessInfo(Number(name));
    if (info?.sid === sid) found.push(info.pid);
  }
  return found;
}
