// An agent moved from one backend to the other and back keeps its thread: through the BUILT plugin
// and the real codex, exec → app-server → exec → app-server, each turn resumes the same thread and
// sends the model the whole conversation so far. The second app-server turn also covers a warm
// server whose loaded copy of the thread is older than its rollout (the exec turn in between).
// Each Configure names its backend, so the test runs once, in the exec pass of the suite, and only
// with a codex the app-server backend runs on (app_server_turns).
import { afterEach, describe, expect, it } from "vitest";

import { codexFeatures } from "../../internal/codex/codex-capabilities.js";
import { mockProviderOverrides } from "../../internal/mock-model/codex-provider-overrides.js";
import { textReply } from "../../internal/mock-model/reply-builders.js";
import { userPrompts } from "../../internal/mock-model/request-input.js";
import { TurnEnd_Outcome } from "../../src/gen/plexum/provider/v1/provider_pb.js";
import { codexUnderTest } from "../helpers/codex-bin.js";
import { eventsOf, ON_APP_SERVER, PluginHarness } from "../helpers/plugin-harness.js";

let harness: PluginHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const BACKENDS = ["exec", "app-server", "exec", "app-server"] as const;

describe("switching backends", () => {
  const codex = codexUnderTest();
  const appServerRuns = codexFeatures(codex?.version ?? "").includes("app_server_turns");
  it.skipIf(ON_APP_SERVER || !appServerRuns)(
    "keeps the agent's thread and its history both ways",
    async () => {
      harness = await PluginHarness.start({
        script: (_request, index) => textReply(`answer ${index + 1}`),
      });
      const h = harness;
      const server = h.server!;
      let threadId = "";
      for (const [index, backend] of BACKENDS.entries()) {
        const configured = await h.configure({
          backend,
          state_dir: h.stateDir,
          codex_home: h.codexHome,
          config_overrides: mockProviderOverrides(server.url),
        });
        expect(configured.diagnostics.filter((d) => d.summary.includes("backend"))).toEqual([]);
        const turn = await h.turn({ agentId: "mover", prompt: `question ${index + 1}` });
        expect(turn.end.outcome, `${backend}: ${turn.end.message}`).toBe(TurnEnd_Outcome.COMPLETED);
        expect(turn.end.finalText).toBe(`answer ${index + 1}`);
        const started = eventsOf(turn.events, "turnStarted")[0];
        if (index === 0) {
          threadId = turn.end.threadId;
          expect(started?.resumed).toBe(false);
        } else {
          expect(started?.resumed, backend).toBe(true);
          expect(turn.end.threadId, backend).toBe(threadId);
        }
        // Only app-server streams deltas: the turn really ran on the backend just configured.
        expect(eventsOf(turn.events, "textDelta").length > 0, backend).toBe(
          backend === "app-server",
        );
        const request = server.requests.filter((r) => r.path.endsWith("/responses")).at(-1)!;
        expect(userPrompts(request).filter((p) => p.startsWith("question "))).toEqual(
          BACKENDS.slice(0, index + 1).map((_, n) => `question ${n + 1}`),
        );
      }
      expect((await h.threadRecord("mover")).thread_id).toBe(threadId);
    },
  );
});
