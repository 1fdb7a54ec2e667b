// The RunTurn response stream through the BUILT plugin: one event per message for a host that did
// not ask for more, several per message with StartTurn.batch_events, and the same events either
// way. A fake codex floods its stdout, several lines per write, so one read holds many events.
import { afterEach, describe, expect, it } from "vitest";

import {
  Message_Role,
  type RunTurnResponse,
  type TurnEvent,
} from "../../src/gen/plexum/provider/v1/provider_pb.js";
import { fakeCodex, writeFakeControl } from "../helpers/fake-codex.js";
import { ON_APP_SERVER, PluginHarness } from "../helpers/plugin-harness.js";

let harness: PluginHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function rawTurn(
  plugin: PluginHarness,
  agentId: string,
  batchEvents: boolean,
): Promise<RunTurnResponse[]> {
  const call = plugin.client.runTurn();
  call.write({
    request: {
      case: "start",
      value: {
        agent: { agentId, workspace: plugin.workspace },
        conversation: [{ role: Message_Role.USER, text: "flood" }],
        batchEvents,
      },
    },
  });
  const responses: RunTurnResponse[] = [];
  for await (const response of call as AsyncIterable<RunTurnResponse>) responses.push(response);
  return responses;
}

// What a host sees, whatever the packing: kinds in order and the reasoning texts.
function summary(events: TurnEvent[]) {
  return {
    kinds: events.map((event) => event.event.case),
    reasoning: events.flatMap((event) =>
      event.event.case === "reasoning" ? [event.event.value.text] : [],
    ),
  };
}

describe("RunTurn responses", () => {
  // A fake `codex exec` (JSONL on stdout) stands in for codex here; app-server speaks JSON-RPC.
  it.skipIf(ON_APP_SERVER)(
    "batches events only for a host that asks, and delivers the same events either way",
    async () => {
      harness = await PluginHarness.start({ skipConfigure: true });
      // 8 lines of 4 KiB per write: a read of codex's stdout always holds several events.
      await writeFakeControl(harness.codexHome, { linesPerWrite: 8 });
      await harness.configure({
        binary: fakeCodex("fake-codex-flood.mjs"),
        state_dir: harness.stateDir,
        codex_home: harness.codexHome,
        config_overrides: { model_provider: "fake" },
      });

      const single = await rawTurn(harness, "single", false);
      expect(single.every((response) => response.event !== undefined)).toBe(true);
      expect(single.every((response) => response.events.length === 0)).toBe(true);
      const singleEvents = single.map((response) => response.event as TurnEvent);

      const batched = await rawTurn(harness, "batched", true);
      expect(batched.every((response) => response.event === undefined)).toBe(true);
      expect(batched.every((response) => response.events.length > 0)).toBe(true);
      const batchedEvents = batched.flatMap((response) => response.events);
      expect(Math.max(...batched.map((response) => response.events.length))).toBeGreaterThan(1);
      expect(batched.length).toBeLessThan(batchedEvents.length / 2);

      for (const events of [singleEvents, batchedEvents]) {
        expect(events.map((event) => event.seq)).toEqual(
          events.map((_event, index) => BigInt(index + 1)),
        );
        expect(events.at(-1)?.event.case).toBe("turnEnd");
      }
      const reasoning = summary(batchedEvents).reasoning;
      expect(reasoning).toHaveLength(4000);
      expect(reasoning.every((text, index) => text.startsWith(`${index} `))).toBe(true);
      expect(summary(batchedEvents)).toEqual(summary(singleEvents));
    },
  );
});
