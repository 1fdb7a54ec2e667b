import { chmod, mkdir, readFile, symlink, utimes, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import {
  findBundledBinary,
  resolveCodexBinary,
  toNative,
} from "../../../../internal/codex/binary.js";
import { CodexVersionProbes } from "../../../../internal/codex/version-probe.js";
import { ProcessRegistry } from "../../../../internal/proc/process-registry.js";
import { fakeCodex } from "../../../helpers/fake-codex.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

const probes = new CodexVersionProbes(new ProcessRegistry());

const TRIPLES: Record<string, string> = {
  "linux-x64": "x86_64-unknown-linux-musl",
  "linux-arm64": "aarch64-unknown-linux-musl",
};
const platformKey = `${process.platform}-${process.arch}`;
// The test scripts run through `#!/usr/bin/env node`, so node must stay reachable on PATH.
const nodeDir = dirname(process.execPath);
const triple = TRIPLES[platformKey];

async function writeScript(path: string, body: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `#!/usr/bin/env node\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

function versionScript(version: string, countFile?: string): string {
  const count =
    countFile === undefined
      ? ""
      : `require("node:fs").appendFileSync(${JSON.stringify(countFile)}, "x");`;
  return `${count}if (process.argv.includes("--version")) console.log("codex-cli ${version}");`;
}

describe("resolveCodexBinary", () => {
  const temp = createTempDirs();
  let root: string;

  beforeEach(async () => {
    root = await temp.make("binary");
  });
  afterEach(async () => {
    await temp.removeAll();
  });

  it("accepts a config-given node script as it is (only the npm launcher is mapped)", async () => {
    const status = await resolveCodexBinary({
      probes,
      binary: fakeCodex("fake-codex.mjs"),
      versionProbeMs: 10_000,
    });
    expect(status).toMatchObject({
      ready: true,
      source: "config",
      path: fakeCodex("fake-codex.mjs"),
      version: "0.169.0",
      degradedReason: "",
    });
  });

  it("reports a codex older than the minimum 0.148.0 as not ready, saying what to do", async () => {
    const status = await resolveCodexBinary({
      probes,
      binary: fakeCodex("fake-codex-old.mjs"),
      versionProbeMs: 10_000,
    });
    expect(status).toMatchObject({
      ready: false,
      version: "0.100.0",
      code: "CODEX_VERSION_UNSUPPORTED",
      notes: [],
    });
    expect(status.degradedReason).toContain("older than the minimum 0.148.0");
    expect(status.degradedReason).toContain("upgrade");
    const justBelow = await writeScript(join(root, "codex-0.147"), versionScript("0.147.0"));
    expect(
      await resolveCodexBinary({ probes, binary: justBelow, versionProbeMs: 5000 }),
    ).toMatchObject({
      ready: false,
      code: "CODEX_VERSION_UNSUPPORTED",
    });
  });

  it("runs a supported codex that lacks a feature, and says what works differently", async () => {
    const older = await writeScript(join(root, "codex-0.150"), versionScript("0.150.0"));
    const status = await resolveCodexBinary({ probes, binary: older, versionProbeMs: 5000 });
    expect(status).toMatchObject({ ready: true, version: "0.150.0", degradedReason: "" });
    expect(status.features).toContain("mcp_call_ids");
    expect(status.features).not.toContain("mcp_text_results");
    expect(status.notes).toEqual([
      expect.stringMatching(/^codex 0\.150\.0 has no mcp_text_results/),
      expect.stringMatching(/^codex 0\.150\.0 has no app_server_turns/),
    ]);

    const pinned = await resolveCodexBinary({
      probes,
      binary: fakeCodex("fake-codex.mjs"),
      versionProbeMs: 10_000,
    });
    expect(pinned.features).toContain("mcp_text_results");
    expect(pinned.notes).toEqual([]);
  });

  it("runs a codex newer than the newest tested one, noting that it is untested", async () => {
    const newer = await writeScript(join(root, "codex-next"), versionScript("0.172.0"));
    const status = await resolveCodexBinary({ probes, binary: newer, versionProbeMs: 5000 });
    expect(status).toMatchObject({ ready: true, version: "0.172.0" });
    expect(status.notes).toEqual([expect.stringContaining("codex 0.172.0 is untested")]);
  });

  it("reports a missing, non-file or non-executable config binary without throwing", async () => {
    const missing = await resolveCodexBinary({
      probes,
      binary: join(root, "nope"),
      versionProbeMs: 1000,
    });
    expect(missing).toMatchObject({
      ready: false,
      source: "config",
      code: "CODEX_BINARY_NOT_FOUND",
    });
    expect(missing.degradedReason).toContain("does not exist");
    expect(missing.degradedReason).toContain("`binary`");

    const directory = await resolveCodexBinary({ probes, binary: root, versionProbeMs: 1000 });
    expect(directory.degradedReason).toContain("is not a file");

    const plain = join(root, "plain");
    await writeFile(plain, "not executable");
    const notExecutable = await resolveCodexBinary({ probes, binary: plain, versionProbeMs: 1000 });
    expect(notExecutable.degradedReason).toContain("not executable");
  });

  it("reports an executable that is not codex, and one whose --version hangs", async () => {
    const quiet = await writeScript(join(root, "quiet"), "process.exit(0)");
    const status = await resolveCodexBinary({ probes, binary: quiet, versionProbeMs: 5000 });
    expect(status).toMatchObject({ ready: false });
    expect(status.degradedReason).toContain("did not report a codex-cli version");

    const hang = await writeScript(join(root, "hang"), "setInterval(() => {}, 1000)");
    const startedAt = Date.now();
    const hung = await resolveCodexBinary({ probes, binary: hang, versionProbeMs: 300 });
    expect(hung.degradedReason).toContain("did not answer within 300 ms");
    expect(Date.now() - startedAt).toBeLessThan(3000);
  });

  it("looks a bare config name up on PATH", async () => {
    await writeScript(join(root, "bin", "my-codex"), versionScript("0.169.0"));
    const status = await resolveCodexBinary({
      probes,
      binary: "my-codex",
      versionProbeMs: 5000,
      env: { PATH: `/nonexistent:${join(root, "bin")}:${nodeDir}` },
    });
    expect(status).toMatchObject({
      ready: true,
      source: "config",
      path: join(root, "bin", "my-codex"),
    });
  });

  it("probes once per binary build and again after it changes", async () => {
    const counter = join(root, "count");
    const script = await writeScript(join(root, "codex"), versionScript("0.169.0", counter));
    await resolveCodexBinary({ probes, binary: script, versionProbeMs: 5000 });
    await resolveCodexBinary({ probes, binary: script, versionProbeMs: 5000 });
    expect(await readFile(counter, "utf8")).toBe("x");

    await writeScript(script, versionScript("0.170.1", counter));
    const later = new Date(Date.now() + 60_000);
    await utimes(script, later, later);
    const status = await resolveCodexBinary({ probes, binary: script, versionProbeMs: 5000 });
    expect(status.version).toBe("0.170.1");
    expect(await readFile(counter, "utf8")).toBe("xx");
  });

  it.runIf(triple !== undefined)(
    "maps the npm launcher found on PATH to the native binary beside it",
    async () => {
      const modules = join(root, "node_modules", "@openai");
      await mkdir(join(modules, "codex", "bin"), { recursive: true });
      await writeFile(
        join(modules, "codex", "package.json"),
        JSON.stringify({ name: "@openai/codex" }),
      );
      const launcher = await writeScript(
        join(modules, "codex", "bin", "codex.js"),
        "process.exit(3)",
      );
      const platformPackage = join(modules, `codex-${platformKey}`);
      await mkdir(platformPackage, { recursive: true });
      await writeFile(
        join(platformPackage, "package.json"),
        JSON.stringify({ name: `@openai/codex-${platformKey}` }),
      );
      const native = await writeScript(
        join(platformPackage, "vendor", triple ?? "", "bin", "codex"),
        versionScript("0.171.0"),
      );
      await mkdir(join(platformPackage, "vendor", triple ?? "", "codex-path"));
      await mkdir(join(root, "bin"));
      await symlink(launcher, join(root, "bin", "codex"));

      expect(await toNative(join(root, "bin", "codex"))).toBe(native);
      const status = await resolveCodexBinary({
        probes,
        versionProbeMs: 5000,
        env: { PATH: `${join(root, "bin")}:${nodeDir}` },
      });
      expect(status).toMatchObject({
        ready: true,
        source: "path",
        path: native,
        version: "0.171.0",
        helperPathDir: join(platformPackage, "vendor", triple ?? "", "codex-path"),
      });
    },
  );

  it("does not map a codex.js that belongs to another package", async () => {
    await mkdir(join(root, "other", "bin"), { recursive: true });
    await writeFile(join(root, "other", "package.json"), JSON.stringify({ name: "my-wrapper" }));
    const script = await writeScript(
      join(root, "other", "bin", "codex.js"),
      versionScript("0.169.0"),
    );
    expect(await toNative(script)).toBe(script);
  });

  it("falls back to the bundled @openai/codex native binary", async () => {
    const bundled = findBundledBinary();
    expect(bundled).toMatch(/vendor\/[^/]+\/bin\/codex$/);
    const status = await resolveCodexBinary({ probes, versionProbeMs: 20_000, env: { PATH: "" } });
    expect(status).toMatchObject({
      ready: true,
      source: "bundled",
      path: bundled,
      version: "0.169.0",
    });
  });

  it("reports nothing found with instructions", async () => {
    const status = await resolveCodexBinary({
      probes,
      versionProbeMs: 1000,
      env: { PATH: "" },
      findBundled: () => undefined,
    });
    expect(status).toMatchObject({
      ready: false,
      source: "none",
      path: "",
      code: "CODEX_BINARY_NOT_FOUND",
    });
    expect(status.degradedReason).toContain("`binary`");
    expect(status.degradedReason).toContain("@openai/codex");
  });
});
