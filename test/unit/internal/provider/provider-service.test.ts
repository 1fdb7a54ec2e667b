// The provider through a real gRPC server, with the real turn engine around a fake backend: a
// backend that throws mid-turn still gives the host exactly one turn_end, and nothing needs mocking.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";

import { CodexProviderCore } from "../../../../internal/app/codex-provider-core.js";
import { codexFeatures } from "../../../../internal/codex/codex-capabilities.js";
import { systemClock } from "../../../../internal/core/clock.js";
import { streamTurn } from "../../../../internal/provider/provider-client.js";
import { ProviderService } from "../../../../internal/provider/provider-service.js";
import type { BackendExit, CodexBackend } from "../../../../internal/turn/codex-backend.js";
import { TurnEngine } from "../../../../internal/turn/turn-engine.js";
import {
  Message_Role,
  ProviderPlugin,
  TurnEnd_Outcome,
  type TurnEvent,
} from "../../../../src/gen/plexum/provider/v1/provider_pb.js";
import { createHclogLogger } from "../../../../src/log/hclog-logger.js";
import { createServiceClient } from "../../../../src/plugin/grpc-client.js";
import { servePlugin, type ServePluginResult } from "../../../../src/plugin/serve.js";

let served: ServePluginResult | undefined;
let root: string | undefined;

afterEach(async () => {
  await served?.close();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

const EXIT: BackendExit = {
  exitCode: 0,
  signal: undefined,
  stderrTail: "",
  spawnError: undefined,
  durationMs: 1,
  fatalMessage: undefined,
  retryMessage: undefined,
};

// Yields one text, then breaks.
const brokenBackend: CodexBackend = {
  name: "broken",
  keepsThreadsLoaded: false,
  start: () => ({
    batches: (async function* () {
      yield { events: [{ kind: "text", itemId: "item_0", text: "partial" }], caughtUp: true };
      throw new Error("boom in the backend");
    })(),
    exit: Promise.resolve(EXIT),
  }),
};

describe("ProviderService", () => {
  it("ends a turn whose backend throws with one crashed turn_end", async () => {
    root = await mkdtemp(join(tmpdir(), "plexum-provider-"));
    const logger = createHclogLogger({ level: "silent", destination: 2 });
    const env = { ...process.env, XDG_STATE_HOME: root, HOME: root };
    const core = new CodexProviderCore({
      logger,
      env,
      selfCommand: undefined,
      clock: systemClock,
      createEngine: (parts) =>
        new TurnEngine({
          ...parts,
          binary: () =>
            Promise.resolve({
              ready: true,
              path: "/fake/codex",
              source: "config",
              version: "0.169.0",
              degradedReason: "",
              features: codexFeatures("0.169.0"),
              notes: [],
            }),
          backend: brokenBackend,
          checkAuth: false,
        }),
    });
    const provider = new ProviderService({
      logger,
      version: "test",
      core: () => Promise.resolve(core),
    });
    served = await servePlugin({
      handshake: { cookieKey: "K", cookieValue: "V", appProtocolVersions: [1] },
      services: [provider.definition()],
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
    // The engine ends every turn in one place: an error event, then the turn_end.
    expect(events.map((e) => e.event.case)).toEqual(["text", "error", "turnEnd"]);
    const end = events[2]?.event;
    expect(end?.case).toBe("turnEnd");
    if (end?.case === "turnEnd") {
      expect(end.value.outcome).toBe(TurnEnd_Outcome.CRASHED);
      expect(end.value.message).toContain("boom in the backend");
      expect(end.value.error?.code).toBe("INTERNAL");
    }
  });
});
