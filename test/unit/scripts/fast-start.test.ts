import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";

import { builtinDynamicImports, packFastStart, toAscii } from "../../../scripts/fast-start.mjs";
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
  it("makes a one-file executable that runs from its code cache with the file's own line numbers", async () => {
    const dir = await dirs.make("fast-start");
    const entry = join(dir, "entry.ts");
    writeFileSync(
      entry,
      [
        "// caf\u00e9",
        "async function main(): Promise<void> {",
        '  const os = await import("node:os");',
        '  console.log("ok", typeof os.cpus, /\u2019/.test("\u2019"), process.argv.slice(2).join(","));',
        '  if (process.argv.includes("throw")) throw new Error("boom */ here");',
        "}",
        "void main().catch((error: Error) => {",
        '  console.log(error.stack?.split("\\n")[1]?.trim());',
        "});",
      ].join("\n"),
    );
    const file = join(dir, "tool");
    await build({
      entryPoints: [entry],
      outfile: file,
      bundle: true,
      platform: "node",
      format: "cjs",
      sourcemap: "linked",
      logLevel: "silent",
      banner: { js: `#!${process.execPath}\n"use strict";` },
      plugins: [builtinDynamicImports],
    });
    await packFastStart({ file, node: process.execPath, run: false });
    const text = readFileSync(file, "latin1");
    expect(text).not.toMatch(/[\u{80}-\u{10ffff}]/u);
    const env = { ...process.env, PLEXUM_FAST_START_TRACE: "1" };
    const ok = spawnSync(process.execPath, [file, "a", "b"], { env, encoding: "utf8" });
    expect(ok.stdout).toBe("ok function true a,b\n");
    expect(JSON.parse(ok.stderr.trim())).toMatchObject({ code_cache: "accepted" });
    const thrown = spawnSync(process.execPath, [file, "throw"], { encoding: "utf8" });
    // The frame points at the line of the file that holds the throw.
    const frame = /tool:(\d+):\d+/.exec(thrown.stdout)?.[1];
    const throwLine = text.split("\n").findIndex((line) => line.includes("boom *\x01 here")) + 1;
    expect(Number(frame)).toBe(throwLine);
    const mapped = spawnSync(process.execPath, ["--enable-source-maps", file, "throw"], {
      encoding: "utf8",
    });
    expect(mapped.stdout).toMatch(/entry\.ts:5:\d+/);
  });
});
