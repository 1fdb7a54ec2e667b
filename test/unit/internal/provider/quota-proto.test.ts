import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";

import { contextWindowFill } from "../../../../internal/core/context-window.js";
import type { RateLimitWindow } from "../../../../internal/core/rate-limits.js";
import { emptyUsage } from "../../../../internal/core/usage.js";
import { eventToProto, usageReportToProto } from "../../../../internal/provider/to-proto.js";
import {
  GetUsageResponseSchema,
  TurnEventSchema,
} from "../../../../src/gen/plexum/provider/v1/provider_pb.js";

const primary: RateLimitWindow = {
  limitId: "codex",
  limitName: "",
  kind: "primary",
  usedPercent: 12.5,
  windowMinutes: 300,
  resetsAtMs: 4102444800_000,
  source: "rollout",
  observedAtMs: Date.UTC(2026, 11, 3, 15, 46, 33, 106),
  threadId: "01a200b8-0000-7000-8000-000000000001",
};

describe("to-proto: rate limits and context window", () => {
  it("answers GetUsage with every window, timestamps as timestampFromMs makes them", () => {
    const secondary: RateLimitWindow = {
      limitId: "codex_other",
      limitName: "GPT-x sonic",
      kind: "secondary",
      usedPercent: 99.5,
      source: "rollout",
      observedAtMs: 1,
      threadId: "t",
    };
    const reply = create(
      GetUsageResponseSchema,
      usageReportToProto({
        total: emptyUsage(),
        turns: 0,
        threadId: "",
        rateLimits: [primary, secondary],
      }),
    );
    expect(reply.rateLimits).toHaveLength(2);
    expect(reply.rateLimits[0]).toMatchObject({
      limitId: "codex",
      limitName: "",
      kind: "primary",
      usedPercent: 12.5,
      windowMinutes: 300,
      source: "rollout",
      threadId: primary.threadId,
    });
    expect(reply.rateLimits[0]?.resetsAt).toEqual(timestampFromMs(4102444800_000));
    expect(reply.rateLimits[0]?.observedAt).toEqual(timestampFromMs(primary.observedAtMs));
    // Not reported: unset, not zero.
    expect(reply.rateLimits[1]?.windowMinutes).toBeUndefined();
    expect(reply.rateLimits[1]?.resetsAt).toBeUndefined();
    expect(reply.rateLimits[1]).toMatchObject({ limitName: "GPT-x sonic", usedPercent: 99.5 });
  });

  it("carries the context-window fill on turn_end, and leaves it unset when unknown", () => {
    const end = (contextWindow?: ReturnType<typeof contextWindowFill>) =>
      create(
        TurnEventSchema,
        eventToProto(
          {
            kind: "turn_end",
            outcome: "completed",
            message: "",
            threadId: "t",
            finalText: "",
            stderrTail: "",
            durationMs: 1,
            ...(contextWindow === undefined ? {} : { contextWindow }),
          },
          9,
          0,
        ),
      );
    const full = end(contextWindowFill(6030, 95_000));
    expect(full.event.case === "turnEnd" && full.event.value.contextWindow).toMatchObject({
      tokensInContext: 6030n,
      modelContextWindow: 95_000n,
      fill: 6030 / 95_000,
      percentLeft: 100,
    });
    const unknownWindow = end(contextWindowFill(500, 0));
    const value = unknownWindow.event.case === "turnEnd" ? unknownWindow.event.value : undefined;
    expect(value?.contextWindow?.tokensInContext).toBe(500n);
    expect(value?.contextWindow?.fill).toBeUndefined();
    expect(value?.contextWindow?.percentLeft).toBeUndefined();
    const none = end();
    expect(none.event.case === "turnEnd" && none.event.value.contextWindow).toBeUndefined();
  });
});
