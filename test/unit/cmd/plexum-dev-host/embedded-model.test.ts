import { join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { startEmbeddedModel } from "../../../../cmd/plexum-dev-host/embedded-model.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

describe("startEmbeddedModel", () => {
  const temp = createTempDirs();
  afterEach(() => temp.removeAll());

  it("points an operator's config at the mock, in throw-away dirs, keeping its other keys", async () => {
    const root = await temp.make("embedded");
    const model = await startEmbeddedModel(root);
    try {
      const config = model.config({
        binary: "/usr/local/bin/codex",
        sandbox: "workspace-write",
        state_dir: "/var/lib/plexum",
        codex_home: "/home/op/.codex",
        endpoint: { base_url: "https://example.invalid/v1", api_key_env: "KEY" },
        openai: { api_key_env: "OPENAI_KEY" },
        config_overrides: { model_reasoning_summary: "auto", model_provider: "openai" },
      }) as Record<string, unknown>;
      expect(config).toEqual({
        binary: "/usr/local/bin/codex",
        sandbox: "workspace-write",
        state_dir: join(root, "state"),
        codex_home: join(root, "codex-home"),
        config_overrides: expect.objectContaining({
          model_reasoning_summary: "auto",
          model_provider: "plexum_mock",
          model_providers: {
            plexum_mock: expect.objectContaining({ base_url: model.server.url }),
          },
        }) as unknown,
      });
      expect(model.config({})).toMatchObject({ state_dir: join(root, "state") });
      // Not an object: left for Configure to refuse.
      expect(model.config(["x"])).toEqual(["x"]);
    } finally {
      await model.close();
    }
  });
});
