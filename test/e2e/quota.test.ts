// Rate limits and context-window fill end to end: the mock model sends codex's rate-limit headers,
// the real codex records them (and its token counts) in the thread's rollout, and the real plugin,
// through the real handshake, reports them on turn_end and in GetUsage, also after a restart.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { afterEach, describe, expect, it } from "vitest";

import { mockProviderOverrides } from "../../internal/mock-model/codex-provider-overrides.js";
import {
  execCommand,
  rateLimitHeaders,
  respond,
  textReply,
} from "../../internal/mock-model/reply-builders.js";
import { lastInputItem, lastUserPrompt } from "../../internal/mock-model/request-input.js";
import { streamTurn } from "../../internal/provider/provider-client.js";
import {
  Message_Role,
  type RateLimitWindow,
  type TurnEnd,
  TurnEnd_Outcome,
} from "../../src/gen/plexum/provider/v1/provider_pb.js";
import { findCodexBinary, requireCodexUnderTest } from "../helpers/codex-bin.js";
import { PluginHarness } from "../helpers/plugin-harness.js";

const codex = findCodexBinary();

// Fixed instants, so nothing depends on today's date: 2100-01-01 and a week later, UTC.
const PRIMARY_RESET = 4_102_444_800;
const SECONDARY_RESET = PRIMARY_RESET + 7 * 24 * 3600;
// codex counts 95 % of the configured window (its effective_context_window_percent).
const WINDOW = 100_000;
const CODEX_WINDOW = 95_000;

let harness: PluginHarness | undefined;
const extra: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const plugin of extra.splice(0)) await plugin.close();
  await harness?.close();
  harness = undefined;
});

function windowsOf(windows: readonly RateLimitWindow[]) {
  return windows.map((window) => ({
    limitId: window.limitId,
    kind: window.kind,
    usedPercent: window.usedPercent,
    windowMinutes: window.windowMinutes,
    resetsAt: window.resetsAt === undefined ? undefined : Number(window.resetsAt.seconds),
    source: window.source,
    threadId: window.threadId,
  }));
}

describe.skipIf(!codex.found)("rate limits and context window with the real codex", () => {
  it("reports codex's recorded rate limits in GetUsage (across a restart) and the context fill on turn_end", async () => {
    harness = await PluginHarness.start({
      script: (request) => {
        const prompt = lastUserPrompt(request);
        if (prompt === "second") {
          // No rate-limit headers: the stored windows stay as they were.
          return textReply("two", { usage: { inputTokens: 7000, outputTokens: 40 } });
        }
        if (lastInputItem(request)?.["type"] === "function_call_output") {
          return textReply("one", {
            usage: { inputTokens: 6000, outputTokens: 30 },
            // Only the primary window this time.
            headers: rateLimitHeaders({
              primary: { usedPercent: 13.5, windowMinutes: 300, resetsAt: PRIMARY_RESET },
            }),
          });
        }
        return respond(execCommand("echo quota"), {
          usage: { inputTokens: 5000, outputTokens: 20 },
          headers: rateLimitHeaders({
            primary: { usedPercent: 12.5, windowMinutes: 300, resetsAt: PRIMARY_RESET },
            secondary: { usedPercent: 40, windowMinutes: 10_080, resetsAt: SECONDARY_RESET },
          }),
        });
      },
    });
    const h = harness;
    const agentId = "quota-agent";
    const options = { configOverrides: { model_context_window: String(WINDOW) } };
    expect((await h.client.getInfo({})).capabilities).toEqual(
      expect.arrayContaining(["rate_limits", "context_window"]),
    );
    expect((await h.client.getUsage({ agentId })).rateLimits).toEqual([]);

    const before = Date.now();
    const first = await h.turn({ agentId, prompt: "first", options });
    const after = Date.now();
    expect(first.end.outcome, first.end.message).toBe(TurnEnd_Outcome.COMPLETED);
    // The last model request: 6000 input + 30 output.
    expect(first.end.contextWindow).toMatchObject({
      tokensInContext: 6030n,
      modelContextWindow: BigInt(CODEX_WINDOW),
      fill: 6030 / CODEX_WINDOW,
      percentLeft: 100,
    });

    const expected = [
      {
        limitId: "codex",
        kind: "primary",
        usedPercent: 13.5,
        windowMinutes: 300,
        resetsAt: PRIMARY_RESET,
        source: "rollout",
        threadId: first.end.threadId,
      },
      {
        limitId: "codex",
        kind: "secondary",
        usedPercent: 40,
        windowMinutes: 10_080,
        resetsAt: SECONDARY_RESET,
        source: "rollout",
        threadId: first.end.threadId,
      },
    ];
    const usage = await h.client.getUsage({ agentId });
    expect(windowsOf(usage.rateLimits)).toEqual(expected);
    const [primary, secondary] = usage.rateLimits.map((window) =>
      window.observedAt === undefined ? Number.NaN : timestampDate(window.observedAt).getTime(),
    );
    for (const observed of [primary, secondary]) {
      // codex's own timestamps, written during the turn (to the millisecond).
      expect(observed).toBeGreaterThanOrEqual(before - 1);
      expect(observed).toBeLessThanOrEqual(after + 1);
    }
    // The secondary window was last reported by the turn's first response.
    expect(secondary).toBeLessThanOrEqual(primary ?? Number.NaN);

    // A new plugin process on the same state dir answers the same windows.
    const { client, close } = await h.relaunch();
    extra.push({ close });
    const config = {
      binary: requireCodexUnderTest().path,
      state_dir: h.stateDir,
      codex_home: h.codexHome,
      config_overrides: mockProviderOverrides(h.server?.url ?? ""),
    };
    await client.configure({ configJson: new TextEncoder().encode(JSON.stringify(config)) });
    // It knows its state dir once configured.
    expect((await client.getUsage({ agentId })).rateLimits).toEqual(usage.rateLimits);

    // A resumed turn whose response carries no rate limits: a new fill, the same windows.
    let end: TurnEnd | undefined;
    const start = {
      agent: { agentId, workspace: h.workspace },
      conversation: [{ role: Message_Role.USER, text: "second" }],
      options,
    };
    for await (const event of streamTurn(client, start)) {
      if (event.event.case === "turnEnd") end = event.event.value;
    }
    expect(end?.outcome, end?.message).toBe(TurnEnd_Outcome.COMPLETED);
    expect(end?.threadId).toBe(first.end.threadId);
    expect(end?.contextWindow).toMatchObject({
      tokensInContext: 7040n,
      modelContextWindow: BigInt(CODEX_WINDOW),
      fill: 7040 / CODEX_WINDOW,
    });
    expect((await client.getUsage({ agentId })).rateLimits).toEqual(usage.rateLimits);
  });
});
