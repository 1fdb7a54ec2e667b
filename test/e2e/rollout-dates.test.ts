// Rollouts across dates, through the BUILT plugin and the REAL codex under test. Codex files a
// thread under sessions/YYYY/MM/DD of its own local date, so a turn that runs over local midnight
// writes into yesterday's directory, and a thread resumed months later sits in an old one.
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { agentDirName } from "../../internal/core/agent-id.js";
import { mockProviderOverrides } from "../../internal/mock-model/codex-provider-overrides.js";
import type { MockReply, MockScriptFunction } from "../../internal/mock-model/mock-reply.js";
import type { RecordedRequest } from "../../internal/mock-model/recorded-request.js";
import { execCommand, respond, textReply } from "../../internal/mock-model/reply-builders.js";
import { toolOutputFor } from "../../internal/mock-model/request-input.js";
import { CONSUMED_MARKER } from "../../internal/rollout/consume-rollout.js";
import { TurnEnd_Outcome } from "../../src/gen/plexum/provider/v1/provider_pb.js";
import { findCodexBinary } from "../helpers/codex-bin.js";
import { eventsOf, PluginHarness, type TurnResult } from "../helpers/plugin-harness.js";

const codex = findCodexBinary();

let harness: PluginHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const DAY_S = 86_400;

/**
 * A POSIX TZ whose local midnight falls at `midnightMs` (a whole second): local time is UTC plus
 * the returned offset, within ±12 h. POSIX counts offsets west of Greenwich as positive.
 */
function zoneWithMidnightAt(midnightMs: number): { tz: string; offsetS: number } {
  let offsetS = (((-midnightMs / 1000) % DAY_S) + DAY_S) % DAY_S;
  if (offsetS > DAY_S / 2) offsetS -= DAY_S;
  const abs = Math.abs(offsetS);
  const two = (n: number) => String(n).padStart(2, "0");
  const hms = `${two(Math.floor(abs / 3600))}:${two(Math.floor(abs / 60) % 60)}:${two(abs % 60)}`;
  return { tz: `XXX${offsetS > 0 ? "-" : "+"}${hms}`, offsetS };
}

/** sessions/YYYY/MM/DD of the local date at `ms` in a zone `offsetS` seconds east of UTC. */
function sessionDir(ms: number, offsetS: number): string {
  const [year, month, day] = new Date(ms + offsetS * 1000).toISOString().slice(0, 10).split("-");
  return join("sessions", year ?? "", month ?? "", day ?? "");
}

async function rolloutFiles(h: PluginHarness): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.startsWith("rollout-")) found.push(path);
    }
  };
  await walk(join(h.codexHome, "sessions"));
  return found;
}

function responsesRequests(h: PluginHarness): RecordedRequest[] {
  return (h.server?.requests ?? []).filter(
    (r) => r.method === "POST" && r.path === "/v1/responses",
  );
}

function expectCompleted(turn: TurnResult): void {
  expect(
    { outcome: turn.end.outcome, exitCode: turn.end.exitCode },
    `${turn.end.message}\n${turn.end.stderrTail}`,
  ).toEqual({ outcome: TurnEnd_Outcome.COMPLETED, exitCode: 0 });
}

const sleepUntil = (ms: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, ms - Date.now())));

const SHELL_COMMAND = "printf 'late-%s-output' night";
const SHELL_OUTPUT = "late-night-output";

describe.skipIf(!codex.found)("rollouts across dates with the real codex", () => {
  it("mirrors and consumes a turn that starts at 23:59:5x local time and ends after midnight", async () => {
    // Local midnight a few seconds after the turn starts; codex and the plugin share the zone.
    const midnight = (Math.floor(Date.now() / 1000) + 14) * 1000;
    const { tz, offsetS } = zoneWithMidnightAt(midnight);
    const before = sessionDir(midnight - 1000, offsetS);
    const after = sessionDir(midnight, offsetS);
    let createdBeforeMidnight: string[] | undefined;
    const script: MockScriptFunction = async (_request, index): Promise<MockReply> => {
      if (index === 0) {
        // Codex has filed the thread by its first model request; answer only after midnight.
        createdBeforeMidnight = (await rolloutFiles(harness!)).map((path) =>
          relative(harness!.codexHome, path),
        );
        await sleepUntil(midnight + 1500);
        return respond(execCommand(SHELL_COMMAND, { callId: "call_midnight_1" }));
      }
      if (index === 1) return textReply("after midnight");
      return textReply("resumed the next day");
    };
    harness = await PluginHarness.start({ script, env: { TZ: tz } });
    await sleepUntil(midnight - 6000);
    const agentId = "midnight-agent";
    const started = Date.now();
    const first = await harness.turn({ agentId, prompt: "work through midnight" });
    expectCompleted(first);
    expect(started, "the turn started before local midnight").toBeLessThan(midnight);
    expect(Date.now(), "the turn ended after local midnight").toBeGreaterThan(midnight);

    // Codex filed the thread under the date the turn began on, and wrote on into that file.
    expect(createdBeforeMidnight).toHaveLength(1);
    expect(dirname(createdBeforeMidnight?.[0] ?? "")).toBe(before);
    const [rollout] = await rolloutFiles(harness);
    expect(relative(harness.codexHome, rollout ?? "")).toBe(createdBeforeMidnight?.[0]);
    expect(await readdir(join(harness.codexHome, after)).catch(() => [])).toEqual([]);

    // The mirror reported the call written after midnight, with codex's call id.
    expect(eventsOf(first.events, "toolCall").map((call) => call.callId)).toEqual([
      "call_midnight_1",
    ]);
    const [result] = eventsOf(first.events, "toolResult");
    expect(result?.callId).toBe("call_midnight_1");
    expect(result?.output).toContain(SHELL_OUTPUT);
    expect((await harness.threadRecord(agentId))["rollout"]).toMatchObject({ path: rollout });

    const consumed = await harness.client.consume({ agentId, blockIds: ["call_midnight_1"] });
    expect(consumed.rewritten).toEqual(["call_midnight_1"]);
    const resumed = await harness.turn({ agentId, prompt: "good morning" });
    expectCompleted(resumed);
    expect(eventsOf(resumed.events, "turnStarted")[0]?.resumed).toBe(true);
    const body = responsesRequests(harness).at(-1)!;
    expect(toolOutputFor(body, "call_midnight_1")?.output).toBe(CONSUMED_MARKER);
    expect(body.rawBody).not.toContain(SHELL_OUTPUT);
  });

  it("finds a thread filed under an old date with no remembered path, on Consume and on resume", async () => {
    harness = await PluginHarness.start({
      script: [
        respond(execCommand(SHELL_COMMAND, { callId: "call_old_1" })),
        textReply("one"),
        respond(execCommand("echo second-turn", { callId: "call_old_2" })),
        textReply("two"),
      ],
    });
    const agentId = "old-date-agent";
    const first = await harness.turn({ agentId, prompt: "first" });
    expectCompleted(first);
    const threadId = first.end.threadId;
    const [filed] = await rolloutFiles(harness);
    expect(filed).toBeDefined();

    // The thread as if it had begun on 2024-02-29: codex's file name carries the date too.
    const oldDir = join(harness.codexHome, "sessions", "2024", "02", "29");
    await mkdir(oldDir, { recursive: true });
    const moved = join(
      oldDir,
      basename(filed ?? "").replace(/^rollout-[\dT-]{19}/, "rollout-2024-02-29T10-00-00"),
    );
    expect(basename(moved)).toBe(`rollout-2024-02-29T10-00-00-${threadId}.jsonl`);
    await rename(filed ?? "", moved);
    // Codex finds a thread through its state DB's rollout_path, which the move made stale, and
    // without one by file name: drop the DB so that codex, like the plugin, has to search.
    for (const name of await readdir(harness.codexHome)) {
      if (name.startsWith("state_")) await rm(join(harness.codexHome, name));
    }

    // A new state_dir holding the agent's thread but no rollout cursor (older state, or lost).
    const record = await harness.threadRecord(agentId);
    expect(record["rollout"]).toBeDefined();
    delete record["rollout"];
    const stateDir = join(harness.root, "state-without-cursor");
    const agentDir = join(stateDir, "agents", agentDirName(agentId));
    await mkdir(agentDir, { recursive: true });
    await writeFile(join(agentDir, "thread.json"), JSON.stringify(record));
    await harness.configure({
      state_dir: stateDir,
      codex_home: harness.codexHome,
      config_overrides: mockProviderOverrides(harness.server!.url),
    });

    const consumed = await harness.client.consume({ agentId, blockIds: ["call_old_1"] });
    expect(consumed.rewritten).toEqual(["call_old_1"]);

    const second = await harness.turn({ agentId, prompt: "second" });
    expectCompleted(second);
    expect(second.end.threadId).toBe(threadId);
    expect(eventsOf(second.events, "threadLost")).toEqual([]);
    const body = responsesRequests(harness)[2]!;
    expect(toolOutputFor(body, "call_old_1")?.output).toBe(CONSUMED_MARKER);
    // The mirror found the old file, started at its end, and reports only the new turn's call.
    expect(eventsOf(second.events, "toolCall").map((call) => call.callId)).toEqual(["call_old_2"]);
    const cursor = JSON.parse(await readFile(join(agentDir, "thread.json"), "utf8")) as {
      rollout?: { path: string };
    };
    expect(cursor.rollout?.path).toBe(moved);
    expect(await rolloutFiles(harness)).toEqual([moved]);
  });
});
