import { spawnSync } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, join } from "node:path";

import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";

import { builtinDynamicImports, packFastStart, toAscii } from "../../../scripts/fast-start.mjs";
import { launcherHeader } from "../../../scripts/launcher.mjs";
import { createTempDirs } from "../../helpers/temp-dirs.js";

const dirs = createTempDirs();
afterAll(() => dirs.removeAll());

describe("toAscii", () => {
  it("escapes what esbuild leaves in comments and regular expressions, meaning the same", () => {
    const source = [
      "// caf\u00e9 \u2192 comment",
      "/* \u00d7 block */",
      "const re = /it[\u2019']s \ud834\udd1e/u;",
      'const s = "\u00e9";',
      'result = [re.test("it\u2019s \ud834\udd1e"), s.length, s.charCodeAt(0)];',
    ].join("\n");
    const ascii = toAscii(source);
    expect(ascii).toMatch(/^[\x20-\x7e\n]*$/);
    const run = (code: string) => new Function(`let result; ${code}; return result;`)() as unknown;
    expect(run(ascii)).toEqual(run(source));
    expect(run(ascii)).toEqual([true, 1, 0xe9]);
  });

  it("leaves ASCII code alone", () => {
    const source = "const a = `x${1}`; // plain";
    expect(toAscii(source)).toBe(source);
  });

  it("refuses non-ASCII in a template literal, whose raw text an escape would change", () => {
    expect(() => toAscii("String.raw`caf\u00e9`;")).toThrow(/template literal/);
  });
});

describe("packFastStart", () => {
  async function packed(lines: string[]): Promise<{ dir: string; file: string }> {
    const dir = await dirs.make("fast-start");
    const entry = join(dir, "entry.ts");
    writeFileSync(entry, lines.join("\n"));
    const file = join(dir, "tool");
    await build({
      entryPoints: [entry],
      outfile: file,
      bundle: true,
      platform: "node",
      format: "cjs",
      sourcemap: "linked",
      logLevel: "silent",
      banner: { js: '"use strict";' },
      plugins: [builtinDynamicImports],
    });
    await packFastStart({ file, header: launcherHeader() });
    chmodSync(file, 0o755);
    return { dir, file };
  }

  function traces(stderr: string): { code_cache: string; file?: string; reason?: string }[] {
    return stderr
      .split("\n")
      .filter((line) => line.includes('"fast start"'))
      .map((line) => JSON.parse(line) as { code_cache: string; file?: string; reason?: string });
  }

  it("makes a one-file executable that keeps the file's own line numbers and source map", async () => {
    const { file } = await packed([
      "// caf\u00e9",
      "async function main(): Promise<void> {",
      '  const os = await import("node:os");',
      '  console.log("ok", typeof os.cpus, /\u2019/.test("\u2019"), process.argv.slice(2).join(","));',
      '  if (process.argv.includes("throw")) throw new Error("boom */ here");',
      "}",
      "void main().catch((error: Error) => {",
      '  console.log(error.stack?.split("\\n")[1]?.trim());',
      "});",
    ]);
    const text = readFileSync(file, "latin1");
    expect(text).not.toMatch(/[\u{80}-\u{10ffff}]/u);
    // Started through its #! line: the launcher picks this test's node.
    const env = { ...process.env, PLEXUM_NODE_PATH: process.execPath, PLEXUM_CODE_CACHE: "off" };
    const ok = spawnSync(file, ["a", "b"], { env, encoding: "utf8" });
    expect(ok.stdout).toBe("ok function true a,b\n");
    const thrown = spawnSync(file, ["throw"], { env, encoding: "utf8" });
    // The frame points at the line of the file that holds the throw.
    const frame = /tool:(\d+):\d+/.exec(thrown.stdout)?.[1];
    const throwLine = text.split("\n").findIndex((line) => line.includes("boom *\x01 here")) + 1;
    expect(Number(frame)).toBe(throwLine);
    const mapped = spawnSync(process.execPath, ["--enable-source-maps", file, "throw"], {
      env,
      encoding: "utf8",
    });
    expect(mapped.stdout).toMatch(/entry\.ts:5:\d+/);
  });

  it("writes a code cache once start-up has run, and the next start compiles from it", async () => {
    const { dir, file } = await packed([
      'console.log("up");',
      "setTimeout(() => undefined, 1500);",
    ]);
    const cacheDir = join(dir, "cache");
    const env = {
      ...process.env,
      PLEXUM_NODE_PATH: process.execPath,
      PLEXUM_CODE_CACHE: cacheDir,
      PLEXUM_FAST_START_TRACE: "1",
    };
    const first = spawnSync(file, [], { env, encoding: "utf8" });
    expect(first.stdout).toBe("up\n");
    const [none, written] = traces(first.stderr);
    expect(none).toMatchObject({ code_cache: "none" });
    expect(written).toMatchObject({ code_cache: "written", file: none?.file });
    // Named for this bundle, mode, node version and node binary; private to this user.
    const name = basename(none?.file ?? "");
    expect(name).toMatch(
      new RegExp(
        `^tool-[0-9a-f]{16}-serve-${process.version}-${process.arch}-[0-9a-f]+\\.v8cache$`,
      ),
    );
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    expect(statSync(none?.file ?? "").mode & 0o777).toBe(0o600);
    expect(readdirSync(cacheDir)).toEqual([name]);

    const second = spawnSync(file, [], { env, encoding: "utf8" });
    expect(second.stdout).toBe("up\n");
    expect(traces(second.stderr)).toEqual([expect.objectContaining({ code_cache: "accepted" })]);

    // A cache V8 cannot use is compiled around and replaced.
    writeFileSync(none?.file ?? "", "not a code cache");
    const third = spawnSync(file, [], { env, encoding: "utf8" });
    expect(third.stdout).toBe("up\n");
    expect(traces(third.stderr).map((trace) => trace.code_cache)).toEqual(["rejected", "written"]);

    // Commands other than the plugin itself read the cache but never write one.
    rmSync(cacheDir, { recursive: true });
    const other = spawnSync(file, ["doctor"], { env, encoding: "utf8" });
    expect(traces(other.stderr).map((trace) => trace.code_cache)).toEqual(["none"]);
  });

  it("never reads a cache directory that other users can write", async () => {
    const { dir, file } = await packed(['console.log("up");']);
    const shared = join(dir, "shared");
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    const env = {
      ...process.env,
      PLEXUM_NODE_PATH: process.execPath,
      PLEXUM_CODE_CACHE: shared,
      PLEXUM_FAST_START_TRACE: "1",
    };
    const run = spawnSync(file, [], { env, encoding: "utf8" });
    expect(run.stdout).toBe("up\n");
    expect(traces(run.stderr)).toEqual([
      expect.objectContaining({ code_cache: "none", reason: expect.stringContaining(shared) }),
    ]);
    expect(readdirSync(shared)).toEqual([]);
  });
});
