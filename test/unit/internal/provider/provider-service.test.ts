// The provider seam in process: a runner that throws mid-turn still yields exactly one turn_end.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it, vi } from "vitest";

import { streamTurn } from "../../../../cmd/plexum-dev-host/provider-turn.js";
import { ProviderService } from "../../../../internal/provider/provider-service.js";
import {
  Message_Role,
  ProviderPlugin,
  TurnEnd_Outcome,
  type TurnEvent,
} from "../../../../src/gen/plexum/provider/v1/provider_pb.js";
import { createHclogLogger } from "../../../../src/log/hclog-logger.js";
import { createServiceClient } from "../../../../src/plugin/grpc-client.js";
import { implementService } from "../../../../src/plugin/grpc-service.js";
import { servePlugin, type ServePluginResult } from "../../../../src/plugin/serve.js";

vi.mock("../../../../internal/codex/turn-runner.js", () => ({
  runTurnBatches: async function* () {
    yield [{ kind: "text", itemId: "item_0", text: "partial" }];
    throw new Error("boom in the runner");
  },
}));

let served: ServePluginResult | undefined;
let root: string | undefined;

afterEach(async () => {
  await served?.close();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe("ProviderService", () => {
  it("ends a turn whose runner throws with one crashed turn_end", async () => {
    root = await mkdtemp(join(tmpdir(), "plexum-provider-"));
    const logger = createHclogLogger({ level: "silent", destination: 2 });
    const provider = new ProviderService({
      logger,
      version: "test",
      env: { ...process.env, XDG_STATE_HOME: root, HOME: root },
    });
    served = await servePlugin({
      handshake: { cookieKey: "K", cookieValue: "V", appProtocolVersions: [1] },
      services: [implementService(ProviderPlugin, provider.implementation())],
      logger,
      test: true,
    });
    const client = createServiceClient(
      ProviderPlugin,
      served.target,
      grpc.credentials.createInsecure(),
    );
    const events: TurnEvent[] = [];
    for await (const event of streamTurn(client, {
      agent: { agentId: "a", workspace: root },
      conversation: [{ role: Message_Role.USER, text: "hi" }],
    })) {
      events.push(event);
    }
    client.close();
    expect(events.map((e) => e.event.case)).toEqual(["text", "turnEnd"]);
    const end = events[1]?.event;
    expect(end?.case).toBe("turnEnd");
    if (end?.case === "turnEnd") {
      expect(end.value.outcome).toBe(TurnEnd_Outcome.CRASHED);
      expect(end.value.message).toContain("boom in the runner");
      expect(end.value.error?.code).toBe("INTERNAL");
    }
  });
});
