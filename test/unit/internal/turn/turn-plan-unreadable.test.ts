// A workspace the plugin's user cannot read or enter is refused before codex runs. Root can read
// anything, so under root the check runs in a child process as an unprivileged user.
import { spawnSync } from "node:child_process";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";

import { createTempDirs } from "../../../helpers/temp-dirs.js";

const NOBODY = 65_534;
const isRoot = process.getuid?.() === 0;

describe.runIf(process.platform === "linux")("planTurn with an unreadable workspace", () => {
  const temp = createTempDirs();
  afterAll(() => temp.removeAll());

  it("fails with WORKSPACE_INVALID naming the user, and accepts a readable one", async () => {
    const root = await temp.make("unreadable");
    await chmod(root, 0o755);
    const entry = join(root, "plan.ts");
    await writeFile(
      entry,
      `import { planTurn } from ${JSON.stringify(new URL("../../../../internal/turn/turn-plan.ts", import.meta.url).pathname)};
import { parseConfig } from ${JSON.stringify(new URL("../../../../internal/config/load-config.ts", import.meta.url).pathname)};
const { config } = parseConfig({ state_dir: "/tmp/unused", config_overrides: { model_provider: "fake" } }, { env: {}, homeDir: "/tmp" });
const binary = { ready: true, path: "/bin/true", source: "config", version: "0.169.0", degradedReason: "" };
for (const workspace of process.argv.slice(2)) {
  const result = await planTurn({ agentId: "a", workspace, model: "", prompt: "hi", options: {} }, config, binary, { env: {} });
  process.stdout.write(JSON.stringify(result.ok ? { ok: true } : result.error) + "\\n");
}
`,
    );
    const script = join(root, "plan.mjs");
    await build({
      entryPoints: [entry],
      outfile: script,
      bundle: true,
      platform: "node",
      format: "esm",
      logLevel: "silent",
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
    });
    await chmod(script, 0o644);
    const locked = join(root, "locked");
    const open = join(root, "open");
    await mkdir(locked);
    await mkdir(open);
    // Root's private directory for nobody; for any other user, one it locked itself out of.
    await chmod(locked, isRoot ? 0o700 : 0o000);
    await chmod(open, 0o777);
    const run = spawnSync(process.execPath, [script, locked, open], {
      encoding: "utf8",
      cwd: root,
      ...(isRoot ? { uid: NOBODY, gid: NOBODY } : {}),
    });
    expect(run.stderr).toBe("");
    const [lockedResult, openResult] = run.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as unknown);
    const uid = isRoot ? NOBODY : process.getuid?.();
    expect(lockedResult).toMatchObject({ class: "precondition", code: "WORKSPACE_INVALID" });
    expect((lockedResult as { message: string }).message).toContain(
      `not readable by the plugin's user (uid ${uid})`,
    );
    expect(openResult).toEqual({ ok: true });
  });
});
