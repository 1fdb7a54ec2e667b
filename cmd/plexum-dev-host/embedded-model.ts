// The embedded mock model that `demo` and `run --mock` point codex at: the demo's scripted Responses
// API on 127.0.0.1, with a throw-away state_dir and CODEX_HOME so that no mock thread ever mixes
// with an agent's real ones.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";

import { mockProviderOverrides } from "../../internal/mock-model/codex-provider-overrides.js";
import { demoScript } from "../../internal/mock-model/demo-script.js";
import {
  type ResponsesServer,
  startResponsesServer,
} from "../../internal/mock-model/responses-server.js";

// Keys that would send codex to a real model or ask it for a real key.
const REAL_MODEL_KEYS = ["endpoint", "openai"];

/** A running mock model. */
export interface EmbeddedModel {
  server: ResponsesServer;
  /**
   * `base` (an operator's plugin config, or {}) pointed at the mock: its provider overrides on top
   * of base's, state_dir and codex_home under the throw-away root, no endpoint or openai block.
   * A base that is not an object is returned as it is, for Configure to refuse.
   */
  config(base: unknown): unknown;
  close(): Promise<void>;
}

/** Starts the mock model; its directories go under `root`, which the caller removes. */
export async function startEmbeddedModel(root: string): Promise<EmbeddedModel> {
  const stateDir = join(root, "state");
  const codexHome = join(root, "codex-home");
  await mkdir(codexHome, { recursive: true });
  const server = await startResponsesServer({ script: demoScript });
  return {
    server,
    config(base) {
      if (typeof base !== "object" || base === null || Array.isArray(base)) return base;
      const config: Record<string, unknown> = { ...base };
      for (const key of REAL_MODEL_KEYS) delete config[key];
      const overrides = config.config_overrides;
      return {
        ...config,
        state_dir: stateDir,
        codex_home: codexHome,
        config_overrides: {
          ...(typeof overrides === "object" && overrides !== null ? overrides : {}),
          ...mockProviderOverrides(server.url),
        },
      };
    },
    close: () => server.close(),
  };
}
