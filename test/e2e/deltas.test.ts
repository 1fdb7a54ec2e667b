// Streamed deltas (text_delta, reasoning_delta, command_output_delta) through the BUILT plugin and
// the real codex: with the app-server backend they arrive before turn_end, concatenate to the whole
// item, and a slowly streaming model shows its first text long before the message completes. With
// the exec backend none arrive (codex exec never streams) and the whole items are the same.
import { performance } from "node:perf_hooks";

import { afterEach, describe, expect, it } from "vitest";

import {
  execCommand,
  message,
  reasoning,
  respond,
  textReply,
} from "../../internal/mock-model/reply-builders.js";
import { streamTurn } from "../../internal/provider/provider-client.js";
import { Message_Role, type TurnEvent } from "../../src/gen/plexum/provider/v1/provider_pb.js";
import { eventsOf, ON_APP_SERVER, PluginHarness } from "../helpers/plugin-harness.js";

let harness: PluginHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const ANSWER =
  "Streaming lets a person read the answer while the model is still writing it, word by word.";

// Every event with the moment the test received it.
async function timedTurn(
  h: PluginHarness,
  agentId: string,
  prompt: string,
): Promise<{ event: TurnEvent; at: number }[]> {
  const received: { event: TurnEvent; at: number }[] = [];
  for await (const event of streamTurn(h.client, {
    agent: { agentId, workspace: h.workspace },
    conversation: [{ role: Message_Role.USER, text: prompt }],
  })) {
    received.push({ event, at: performance.timeOrigin + performance.now() });
  }
  return received;
}

function deltasOf(
  events: TurnEvent[],
  kind: "textDelta" | "reasoningDelta" | "commandOutputDelta",
) {
  return eventsOf(events, kind);
}

describe("streamed deltas", () => {
  it("arrive before turn_end and concatenate to each whole item", async () => {
    harness = await PluginHarness.start({
      script: (_request, index) =>
        index === 0
          ? respond([
              reasoning(["First I look.", "Then I answer."]),
              execCommand("printf 'line-one\\n'; sleep 0.5; printf 'line-two\\n'"),
            ])
          : respond([message(ANSWER)]),
    });
    const { events, end } = await harness.turn({ agentId: "deltas", prompt: "stream please" });
    expect(end.outcome).toBe(1);
    const endIndex = events.findIndex((event) => event.event.case === "turnEnd");
    const texts = eventsOf(events, "text");
    const reasonings = eventsOf(events, "reasoning");
    const commands = eventsOf(events, "tool").filter(
      (tool) => tool.tool.case === "command" && tool.phase === 3,
    );
    expect(texts.map((text) => text.text)).toEqual([ANSWER]);
    expect(commands).toHaveLength(1);
    if (!ON_APP_SERVER) {
      // codex exec writes whole items only.
      expect(deltasOf(events, "textDelta")).toEqual([]);
      expect(deltasOf(events, "reasoningDelta")).toEqual([]);
      expect(deltasOf(events, "commandOutputDelta")).toEqual([]);
      return;
    }
    const deltaIndexes = events.flatMap((event, index) =>
      event.event.case?.endsWith("Delta") === true ? [index] : [],
    );
    expect(deltaIndexes.length).toBeGreaterThan(3);
    expect(Math.max(...deltaIndexes)).toBeLessThan(endIndex);

    const text = texts[0]!;
    const textDeltas = deltasOf(events, "textDelta").filter((d) => d.itemId === text.itemId);
    expect(textDeltas.length).toBeGreaterThan(1);
    expect(textDeltas.map((d) => d.delta).join("")).toBe(text.text);
    // Each delta comes before its whole item.
    const textIndex = events.findIndex((event) => event.event.case === "text");
    const lastTextDelta = events.findLastIndex((event) => event.event.case === "textDelta");
    expect(lastTextDelta).toBeLessThan(textIndex);

    const reasoningItem = reasonings[0]!;
    const reasoningDeltas = deltasOf(events, "reasoningDelta").filter(
      (d) => d.itemId === reasoningItem.itemId,
    );
    expect(reasoningDeltas.map((d) => d.delta).join("")).toBe(reasoningItem.text);

    const command = commands[0]!;
    const outputDeltas = deltasOf(events, "commandOutputDelta").filter(
      (d) => d.itemId === command.itemId,
    );
    const output = command.tool.case === "command" ? command.tool.value.aggregatedOutput : "";
    expect(output).toContain("line-two");
    // codex streams what a command prints after its first poll; what came before is only in the
    // completed item (verified with 0.169.0): the deltas are the output's tail.
    const streamed = outputDeltas.map((d) => d.delta).join("");
    expect(streamed).toContain("line-two");
    expect(output.endsWith(streamed)).toBe(true);
  });

  it("shows a slowly streamed message's first text long before the message completes", async () => {
    harness = await PluginHarness.start({
      script: [{ ...textReply(ANSWER), deltaIntervalMs: 50 }],
    });
    const received = await timedTurn(harness, "slow", "write slowly");
    const whole = received.find((entry) => entry.event.event.case === "text");
    expect(whole).toBeDefined();
    const sent = harness.server!.firstTextDeltaSentAt;
    expect(sent).toHaveLength(1);
    if (!ON_APP_SERVER) {
      expect(received.some((entry) => entry.event.event.case === "textDelta")).toBe(false);
      return;
    }
    const first = received.find((entry) => entry.event.event.case === "textDelta");
    expect(first).toBeDefined();
    // ANSWER streams as 4 deltas 50 ms apart: the whole message completes ≥ 150 ms later.
    expect(whole!.at - first!.at).toBeGreaterThan(120);
    // And the first piece reached the host soon after the mock sent it (generous for CI).
    expect(first!.at - sent[0]!).toBeLessThan(1000);
  });
});
