import { describe, expect, it } from "vitest";

import { buildChildEnv } from "../../../../internal/codex/child-env.js";

describe("buildChildEnv", () => {
  it("drops backtrace variables and applies CODEX_HOME, CODEX_SQLITE_HOME, unset and set", () => {
    const env = buildChildEnv(
      {
        PATH: "/bin",
        RUST_BACKTRACE: "1",
        VLLM_KEY: "sk-source",
        CODEX_SQLITE_HOME: "/shared/sqlite",
      },
      {
        codexHome: "/state/agents/a/codex-home",
        sqliteHome: "/state/agents/a/codex-home",
        unset: ["VLLM_KEY"],
        set: { PLEXUM_ENDPOINT_API_KEY: "sk-source" },
      },
    );
    expect(env).toEqual({
      PATH: "/bin",
      CODEX_HOME: "/state/agents/a/codex-home",
      CODEX_SQLITE_HOME: "/state/agents/a/codex-home",
      PLEXUM_ENDPOINT_API_KEY: "sk-source",
    });
  });

  it("leaves an inherited CODEX_SQLITE_HOME alone without a per-agent home", () => {
    expect(buildChildEnv({ CODEX_SQLITE_HOME: "/x" })).toEqual({ CODEX_SQLITE_HOME: "/x" });
  });
});
