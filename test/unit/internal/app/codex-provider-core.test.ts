// The plugin's core on Configure and GetInfo: what it says about the codex it runs.
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { CodexProviderCore } from "../../../../internal/app/codex-provider-core.js";
import { CODEX_FEATURES } from "../../../../internal/codex/codex-capabilities.js";
import { NEWEST_VERIFIED_CODEX_VERSION } from "../../../../internal/codex/codex-version.js";
import { systemClock } from "../../../../internal/core/clock.js";
import { fakeCodex, silentLogger } from "../../../helpers/fake-codex.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

const temp = createTempDirs();
let core: CodexProviderCore;
let config: { state_dir: string; codex_home: string };

beforeEach(async () => {
  const root = await temp.make("core");
  core = new CodexProviderCore({
    logger: silentLogger,
    env: { HOME: root, PATH: process.env["PATH"] ?? "" },
    selfCommand: undefined,
    clock: systemClock,
  });
  config = { state_dir: `${root}/state`, codex_home: root };
});
afterEach(async () => {
  await core.shutdown("test over");
  await temp.removeAll();
});

describe("CodexProviderCore", () => {
  it("names its backend in GetInfo's capabilities", async () => {
    expect((await core.info()).capabilities).toContain("backend.exec");
    expect((await core.info()).capabilities).not.toContain("text_deltas");
    await core.configure({ ...config, backend: "app-server" });
    const capabilities = (await core.info()).capabilities;
    expect(capabilities).toEqual(expect.arrayContaining(["backend.app-server", "text_deltas"]));
    expect(capabilities).not.toContain("backend.exec");
  });

  it("accepts a codex newer than the newest verified, with a Configure warning that it is untested", async () => {
    const outcome = await core.configure({ ...config, binary: fakeCodex("fake-codex-future.mjs") });
    expect(outcome.codex).toMatchObject({ ready: true, version: "0.999.0" });
    const untested = outcome.diagnostics.filter((diagnostic) => diagnostic.field === "binary");
    expect(untested).toEqual([
      {
        severity: "warning",
        summary: expect.stringContaining("codex 0.999.0 is untested") as unknown,
        detail: expect.stringContaining(
          `@openai/codex@${NEWEST_VERIFIED_CODEX_VERSION}`,
        ) as unknown,
        field: "binary",
      },
    ]);
    const info = await core.info();
    expect(info.codex.notes).toEqual([untested[0]?.summary]);
    // Every gated feature is there in a newer release.
    for (const feature of Object.keys(CODEX_FEATURES)) {
      expect(info.capabilities).toContain(`codex.${feature}`);
    }
  });

  it("refuses a codex older than the minimum, and claims none of its features", async () => {
    const outcome = await core.configure({ ...config, binary: fakeCodex("fake-codex-old.mjs") });
    expect(outcome.codex).toMatchObject({ ready: false, code: "CODEX_VERSION_UNSUPPORTED" });
    expect(outcome.diagnostics).toContainEqual(
      expect.objectContaining({
        field: "binary",
        summary: expect.stringContaining("older than the minimum") as unknown,
      }),
    );
    expect((await core.info()).capabilities.filter((name) => name.startsWith("codex."))).toEqual(
      [],
    );
  });
});
