// CompactThread through the BUILT plugin and the REAL codex: a short-lived codex app-server
// compacts the agent's thread between exec turns; the answer carries codex's own figures, the
// rollout gets a `compacted` record, the next turn sends the model the compacted history, a
// running turn refuses the compaction (and a compaction a turn), and no app-server is left behind.
import { readdir, readFile, readlink, rm } from "node:fs/promises";
import { join } from "node:path";

import { status as GrpcStatus } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";

import type { MockReply } from "../../internal/mock-model/mock-reply.js";
import type { RecordedRequest } from "../../internal/mock-model/recorded-request.js";
import { textReply } from "../../internal/mock-model/reply-builders.js";
import {
  inputItems,
  isCompactionRequest,
  lastUserPrompt,
  messageTexts,
} from "../../internal/mock-model/request-input.js";
import { TurnEnd_Outcome } from "../../src/gen/plexum/provider/v1/provider_pb.js";
import { findCodexBinary } from "../helpers/codex-bin.js";
import { eventsOf, ON_APP_SERVER, PluginHarness } from "../helpers/plugin-harness.js";

const codex = findCodexBinary();

let harness: PluginHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const SUMMARY = "SUMMARY-E2E: Alice asked about the weather; answer her in French from now on.";
const FIRST_ANSWER = "first-answer-that-compaction-drops";

// The scripted model: answers each prompt by name, and codex's summarisation request with SUMMARY.
function script(request: RecordedRequest): MockReply {
  if (isCompactionRequest(request)) {
    return textReply(SUMMARY, { usage: { inputTokens: 1200, outputTokens: 30 } });
  }
  const prompt = lastUserPrompt(request) ?? "";
  if (prompt.startsWith("slow")) return textReply("slow answer", { delayMs: 4000 });
  if (prompt.startsWith("second")) return textReply("second answer");
  return textReply(FIRST_ANSWER, { usage: { inputTokens: 1000, outputTokens: 50 } });
}

function responsesRequests(h: PluginHarness): RecordedRequest[] {
  return (h.server?.requests ?? []).filter(
    (r) => r.method === "POST" && r.path === "/v1/responses",
  );
}

async function rolloutLines(
  h: PluginHarness,
  threadId: string,
): Promise<Record<string, unknown>[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith(`${threadId}.jsonl`)) found.push(path);
    }
  };
  await walk(join(h.codexHome, "sessions"));
  expect(found).toHaveLength(1);
  const text = await readFile(found[0] ?? "", "utf8");
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

// Live `codex app-server` processes whose CODEX_HOME is the harness's.
async function appServers(h: PluginHarness, options: { all?: boolean } = {}): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = (await readFile(`/proc/${name}/cmdline`, "utf8")).split("\0");
      if (!argv.includes("app-server")) continue;
      const env = (await readFile(`/proc/${name}/environ`, "utf8")).split("\0");
      const cwd = await readlink(`/proc/${name}/cwd`);
      // With backend app-server, the warm server that runs the turns (its cwd is CODEX_HOME) stays
      // by design; the compaction's own short-lived server is the one these tests follow.
      if (ON_APP_SERVER && options.all !== true && cwd === h.codexHome) continue;
      if (env.includes(`CODEX_HOME=${h.codexHome}`) || cwd.startsWith(h.stateDir)) {
        found.push(Number(name));
      }
    } catch {
      // Gone meanwhile, or not ours.
    }
  }
  return found;
}

function grpcError(error: unknown): { code: number; details: string } {
  return error as { code: number; details: string };
}

describe.skipIf(!codex.found)("CompactThread with the real codex", () => {
  it("compacts between turns: figures, a compacted record, and the next turn's history", async () => {
    harness = await PluginHarness.start({ script });
    const h = harness;
    const agentId = "compact-agent";
    const first = await h.turn({ agentId, prompt: "My name is Alice. What is the weather?" });
    expect(first.end.outcome, first.end.message).toBe(TurnEnd_Outcome.COMPLETED);
    const { thread_id: threadId } = await h.threadRecord(agentId);

    const reply = await h.client.compactThread({ agentId });
    expect(reply.threadId).toBe(threadId);
    // The thread's last request: 1000 in + 50 out, as codex restored it from the rollout.
    expect(reply.tokensBefore).toBe(1050n);
    expect(reply.usage).toMatchObject({ inputTokens: 1200n, outputTokens: 30n });
    expect(reply.modelContextWindow).toBeGreaterThan(0n);

    const lines = await rolloutLines(h, threadId);
    const compacted = lines.filter((line) => line["type"] === "compacted");
    expect(compacted).toHaveLength(1);
    expect(JSON.stringify(compacted[0])).toContain(SUMMARY);
    // tokens_after is codex's own figure for the compacted history: its last token_count record.
    const counts = lines
      .map(
        (line) => line["payload"] as { type?: string; info?: Record<string, unknown> } | undefined,
      )
      .filter((payload) => payload?.type === "token_count" && payload.info !== undefined);
    const last = counts.at(-1)?.info?.["last_token_usage"] as { total_tokens: number } | undefined;
    expect(reply.tokensAfter).toBe(BigInt(last?.total_tokens ?? -1));
    expect(reply.tokensAfter).toBeGreaterThan(0n);

    // The next turn resumes the same thread, and the model gets the summary, not the old answer.
    const second = await h.turn({ agentId, prompt: "second question" });
    expect(second.end.outcome, second.end.message).toBe(TurnEnd_Outcome.COMPLETED);
    expect(second.end.threadId).toBe(threadId);
    // Codex's thread total includes the summarisation request, so this turn's usage counts it
    // (1200 of it) on top of its own request (the mock's default 10).
    expect(eventsOf(second.events, "usage")[0]?.turn?.inputTokens).toBe(1210n);
    // That is the plugin's baseline at work, not codex contradicting itself: no drift notice.
    expect(eventsOf(second.events, "notice").map((notice) => notice.code)).not.toContain(
      "CODEX_SCHEMA_DRIFT",
    );
    const requests = responsesRequests(h);
    expect(requests.map((request) => isCompactionRequest(request))).toEqual([false, true, false]);
    const resumed = requests.at(-1)!;
    const userTexts = messageTexts(resumed, "user");
    expect(userTexts.some((text) => text.includes(SUMMARY))).toBe(true);
    expect(userTexts).toContain("My name is Alice. What is the weather?");
    expect(JSON.stringify(inputItems(resumed))).not.toContain(FIRST_ANSWER);

    expect(await appServers(h)).toEqual([]);
  });

  it("refuses with ABORTED while a turn runs, a turn while it compacts, NOT_FOUND without a thread", async () => {
    harness = await PluginHarness.start({
      script: (request) =>
        isCompactionRequest(request) ? textReply(SUMMARY, { delayMs: 3000 }) : script(request),
    });
    const h = harness;
    await expect(h.client.compactThread({ agentId: "never-ran" })).rejects.toMatchObject({
      code: GrpcStatus.NOT_FOUND,
    });

    // A compaction while the agent's turn runs.
    const agentId = "busy-agent";
    const slow = h.turn({ agentId, prompt: "slow question" });
    await h.server!.waitForResponsesRequests(1);
    const refused = await h.client.compactThread({ agentId }).catch((error: unknown) => error);
    expect(grpcError(refused).code, grpcError(refused).details).toBe(GrpcStatus.ABORTED);
    expect((await slow).end.outcome).toBe(TurnEnd_Outcome.COMPLETED);

    // A turn while the agent's thread is being compacted (the summary takes 3 s).
    const compaction = h.client.compactThread({ agentId });
    compaction.catch(() => undefined);
    await h.server!.waitForResponsesRequests(2);
    // The helper sees the compaction's server (so its empty answer below means something).
    expect(await appServers(h)).toHaveLength(1);
    const turn = await h
      .turn({ agentId, prompt: "second question" })
      .catch((error: unknown) => error);
    expect(grpcError(turn).code, grpcError(turn).details).toBe(GrpcStatus.ABORTED);
    expect(grpcError(turn).details).toContain("compaction");
    expect((await compaction).tokensAfter).toBeGreaterThan(0n);
    const after = await h.turn({ agentId, prompt: "second question" });
    expect(after.end.outcome, after.end.message).toBe(TurnEnd_Outcome.COMPLETED);

    // A thread whose rollout is gone: codex cannot load it ("no rollout found for thread id …").
    await rm(join(h.codexHome, "sessions"), { recursive: true, force: true });
    const lost = await h.client.compactThread({ agentId }).catch((error: unknown) => error);
    expect(grpcError(lost).code, grpcError(lost).details).toBe(GrpcStatus.NOT_FOUND);
    expect(grpcError(lost).details).toContain("THREAD_NOT_FOUND");

    expect(await appServers(h)).toEqual([]);
  });

  it("is cancelled by Shutdown: the call fails and the app-server's group is gone", async () => {
    harness = await PluginHarness.start({
      script: (request) =>
        isCompactionRequest(request) ? textReply(SUMMARY, { delayMs: 60_000 }) : script(request),
    });
    const h = harness;
    const agentId = "shutdown-agent";
    expect((await h.turn({ agentId, prompt: "first" })).end.outcome).toBe(
      TurnEnd_Outcome.COMPLETED,
    );
    const compaction = h.client.compactThread({ agentId }).catch((error: unknown) => error);
    await h.server!.waitForResponsesRequests(2);
    expect(await appServers(h)).toHaveLength(1);
    const started = Date.now();
    const exit = await h.plugin.kill();
    // Shutdown ended the plugin by itself (go-plugin's 2 s grace), the compaction with it.
    expect(exit.signal).toBeNull();
    expect(grpcError(await compaction).code).toBeDefined();
    expect(Date.now() - started).toBeLessThan(5000);
    // Every app-server is gone: the compaction's and (backend app-server) the warm one.
    expect(await appServers(h, { all: true })).toEqual([]);
  });
});
