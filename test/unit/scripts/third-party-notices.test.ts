import { mkdirSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";

import { packageDirOf, thirdPartyNotices } from "../../../scripts/third-party-notices.mjs";
import { createTempDirs } from "../../helpers/temp-dirs.js";

const dirs = createTempDirs();
afterAll(() => dirs.removeAll());

describe("thirdPartyNotices", () => {
  it("lists every package bundled into the executables, each with licence text", async () => {
    const metafiles = [];
    for (const entry of [
      "cmd/plexum-openai-provider-plugin/main.ts",
      "cmd/plexum-dev-host/main.ts",
    ]) {
      const result = await build({
        entryPoints: [entry],
        bundle: true,
        platform: "node",
        format: "cjs",
        write: false,
        metafile: true,
        logLevel: "silent",
        external: ["@grpc/proto-loader"],
      });
      metafiles.push(result.metafile);
    }
    const notices = await thirdPartyNotices(metafiles, ".");
    const bundled = new Set<string>();
    for (const metafile of metafiles) {
      for (const input of Object.keys(metafile.inputs)) {
        const dir = packageDirOf(input);
        if (dir !== undefined) bundled.add(dir);
      }
    }
    // The packages the plugin cannot work without are certainly among them.
    for (const name of ["@grpc/grpc-js", "@bufbuild/protobuf", "pino", "fzstd", "zod"]) {
      expect([...bundled]).toContain(`node_modules/${name}`);
    }
    const sections = notices.split(/^## /m).slice(1);
    expect(sections).toHaveLength(bundled.size);
    for (const dir of bundled) {
      const manifest = JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as {
        name: string;
        version: string;
      };
      const section = sections.find((text) =>
        text.startsWith(`${manifest.name} ${manifest.version}\n`),
      );
      expect(section, dir).toBeDefined();
      expect(section).toMatch(/^License: \S/m);
      expect(section).toMatch(/```text\n[\s\S]*?(Permission|Redistribution|Apache License)/);
    }
    // A package that ships no licence file gets its copyright lines and the standard text.
    expect(notices).toContain("- Copyright 2021-2026 Buf Technologies, Inc.");
    // Code embedded in a package, beyond its own licence.
    expect(notices).toContain("It contains zstd (https://github.com/facebook/zstd)");
  });

  it("stops the build for a package with no licence file and no known licence text", async () => {
    const root = await dirs.make("notices");
    const pkg = join(root, "node_modules", "mystery");
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      join(pkg, "package.json"),
      JSON.stringify({ name: "mystery", version: "1.0.0", license: "WTFPL" }),
    );
    writeFileSync(join(pkg, "index.js"), "module.exports = 1;\n");
    const metafile = { inputs: { "node_modules/mystery/index.js": {} } };
    await expect(thirdPartyNotices([metafile], root)).rejects.toThrow(
      /mystery 1\.0\.0 ships no licence file and its licence WTFPL has no standard text/,
    );
  });
});
