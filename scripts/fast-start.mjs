// Packs a bundle built by scripts/build.mjs into a fast-starting executable that is still one file
// (docs/benchmarks.md, P1). Node 20 has no compile cache for CommonJS, and parsing the 4 MB bundle
// was the largest part of the plugin's start. So the executable is:
//
//   #!<node>
//   a small loader (below)
//   /*
//   the bundle, ASCII only, every `*` `/` pair stored as `*` \x01
//   */
//   /*
//   base64 of a V8 code cache of the bundle, made at build time by this same node
//   */
//
// Node parses only the loader: skipping a comment costs a few milliseconds, parsing the bundle
// about seventy. The loader compiles the bundle with vm.Script and the code cache, so V8
// deserializes what it compiled at build time instead of parsing. A node whose V8 version or flags
// differ rejects the cache, and the bundle is compiled from source: slower, same behaviour.
// Stack traces keep the file's own line numbers, and the linked source map is shifted to match.
import { spawnSync } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { basename } from "node:path";

import * as acorn from "acorn";

const ESCAPED_END = "*\x01";
// Fixed-width slots in the loader for the offsets, filled in once the layout is known.
const SLOT = " ".repeat(10);

// The loader. Plain ES2022 CommonJS without non-ASCII characters; `@NAME@` are the slots.
const LOADER = `"use strict";
// Fast start (scripts/fast-start.mjs): this file's bundle is the first comment below. It is
// compiled with the V8 code cache stored in the second comment, made at build time by this node;
// another node version rejects the cache and compiles the bundle from source instead.
(() => {
  const { closeSync, openSync, readSync } = require("node:fs");
  const { Script } = require("node:vm");
  const fd = openSync(__filename, "r");
  const read = (start, end) => {
    const bytes = Buffer.allocUnsafe(end - start);
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(fd, bytes, done, bytes.length - done, start + done);
      if (n === 0) throw new Error(__filename + " is truncated");
      done += n;
    }
    return bytes;
  };
  let code;
  let cachedData;
  try {
    code = read(@CODE_START@, @CODE_END@).toString("latin1").replaceAll("${"*\\x01"}", "*/");
    if (@CACHE_END@ > @CACHE_START@) {
      cachedData = Buffer.from(read(@CACHE_START@, @CACHE_END@).toString("latin1"), "base64");
    }
  } finally {
    closeSync(fd);
  }
  const script = new Script(
    "(function (exports, require, module, __filename, __dirname) {\\n" + code + "\\n})",
    {
      filename: __filename,
      lineOffset: @LINE_OFFSET@,
      cachedData,
    },
  );
  if (process.env.PLEXUM_FAST_START_TRACE === "1") {
    process.stderr.write(
      JSON.stringify({
        "@level": "debug",
        "@message": "fast start",
        "@timestamp": new Date().toISOString().replace("Z", "000Z"),
        code_cache: cachedData === undefined ? "none" : script.cachedDataRejected ? "rejected" : "accepted",
      }) + "\\n",
    );
  }
  script.runInThisContext()(exports, require, module, __filename, __dirname);
})();
`;

/**
 * esbuild plugin: `import("node:fs")` stays a real dynamic import in a CommonJS bundle, which code
 * compiled by vm.Script cannot run in Node 20 (it needs --experimental-vm-modules). This turns such
 * imports of built-in modules into bundled modules that re-export `require("node:fs")`.
 */
export const builtinDynamicImports = {
  name: "builtin-dynamic-imports",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      if (args.kind !== "dynamic-import") return undefined;
      if (!builtinModules.includes(args.path.replace(/^node:/, ""))) return undefined;
      return { path: args.path, namespace: "builtin-import" };
    });
    pluginBuild.onLoad({ filter: /.*/, namespace: "builtin-import" }, (args) => {
      const name = JSON.stringify(args.path);
      return {
        contents: `export * from ${name};\nexport { default } from ${name};\n`,
        loader: "js",
      };
    });
  },
};

function fill(text, values) {
  return text.replace(/@([A-Z_]+)@/g, (_, name) => {
    const value = values[name];
    if (value === undefined) throw new Error(`fast-start: no value for ${name}`);
    return String(value).padEnd(SLOT.length);
  });
}

function lineCount(text) {
  let lines = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) lines += 1;
  return lines;
}

function escapeCodePoint(codePoint) {
  if (codePoint <= 0xffff) return `\\u${codePoint.toString(16).padStart(4, "0")}`;
  const offset = codePoint - 0x10000;
  return escapeCodePoint(0xd800 + (offset >> 10)) + escapeCodePoint(0xdc00 + (offset & 0x3ff));
}

/**
 * Returns `code` with every non-ASCII character written as a `\u` escape, so Node reads the file as
 * one-byte text (a single non-ASCII byte makes it decode all 4 MB as UTF-16, slowly). esbuild's
 * ASCII output already escapes strings, identifiers and untagged templates; what it leaves is in
 * comments and regular expression literals, where the escape means the same, and in tagged
 * templates, where it would change the raw text: those fail the build.
 */
export function toAscii(code) {
  if (!/[\u{80}-\u{10ffff}]/u.test(code)) return code;
  const ranges = [];
  const comments = [];
  for (const token of acorn.tokenizer(code, {
    ecmaVersion: "latest",
    sourceType: "script",
    allowHashBang: true,
    allowReturnOutsideFunction: true,
    onComment: (_block, _text, start, end) => comments.push({ start, end, kind: "comment" }),
  })) {
    const kind = token.type.label;
    if (["regexp", "string", "name", "template"].includes(kind)) {
      ranges.push({ start: token.start, end: token.end, kind });
    }
  }
  const safe = [...ranges, ...comments].sort((a, b) => a.start - b.start);
  let out = "";
  let last = 0;
  let index = 0;
  for (const match of code.matchAll(/[\u{80}-\u{10ffff}]/gu)) {
    const at = match.index;
    while (index < safe.length && safe[index].end <= at) index += 1;
    const range = safe[index];
    const line = () => lineCount(code.slice(0, at)) + 1;
    if (range === undefined || range.start > at) {
      throw new Error(`fast-start: non-ASCII outside any token at bundle line ${line()}`);
    }
    if (range.kind === "template") {
      throw new Error(
        `fast-start: non-ASCII character in a template literal at bundle line ${line()}; ` +
          "write it as an escape in the source",
      );
    }
    out += code.slice(last, at) + escapeCodePoint(match[0].codePointAt(0));
    last = at + match[0].length;
  }
  return out + code.slice(last);
}

// Compiles the bundle exactly as the loader does, in a fresh `node` (the one in the shebang, with
// no NODE_OPTIONS, so V8's flags match a normal start), and returns the code cache. `run` first
// evaluates the bundle with no plugin cookie, so the cache also holds the code of every module the
// start-up path initialises; the plugin then stops at go-plugin's cookie check and exits 1, before
// binding anything. Otherwise the cache holds only what V8 compiles eagerly.
const CACHE_MAKER = `
  const { readFileSync, writeFileSync } = require("node:fs");
  const { dirname } = require("node:path");
  const { Script } = require("node:vm");
  const [file, out, start, end, lineOffset, mode] = process.argv.splice(1);
  process.argv.push(file);
  const code = readFileSync(file).toString("latin1", Number(start), Number(end)).replaceAll("*\\x01", "*/");
  const script = new Script(
    "(function (exports, require, module, __filename, __dirname) {\\n" + code + "\\n})",
    { filename: file, lineOffset: Number(lineOffset) },
  );
  const write = () => writeFileSync(out, script.createCachedData());
  if (mode === "run") {
    process.on("exit", write);
    const m = { exports: {}, id: ".", filename: file, loaded: false, children: [], paths: [] };
    script.runInThisContext()(m.exports, require, m, file, dirname(file));
  } else {
    write();
  }
`;

async function makeCodeCache(node, file, layout, run) {
  const out = `${file}.code-cache`;
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith("PLUGIN_") || name.startsWith("PLEXUM_") || name === "NODE_OPTIONS") {
      delete env[name];
    }
  }
  const args = [file, out, layout.codeStart, layout.codeEnd, layout.lineOffset];
  const child = spawnSync(node, ["-e", CACHE_MAKER, ...args.map(String), run ? "run" : "compile"], {
    env,
    encoding: "utf8",
    timeout: 60_000,
  });
  if (child.error !== undefined) throw child.error;
  if (child.stdout !== "") {
    throw new Error(
      `fast-start: the bundle wrote to stdout while making its code cache:\n${child.stdout}`,
    );
  }
  try {
    return await readFile(out);
  } catch (error) {
    throw new Error(`fast-start: no code cache was made (exit ${child.status}):\n${child.stderr}`, {
      cause: error,
    });
  } finally {
    await rm(out, { force: true });
  }
}

/**
 * Rewrites `file` (an esbuild CommonJS bundle with a `#!` line and a linked source map next to it)
 * into the fast-start layout described at the top of this file.
 *
 * @param {{ file: string, node: string, run: boolean }} options
 */
export async function packFastStart({ file, node, run }) {
  const bundle = await readFile(file, "utf8");
  const firstNewline = bundle.indexOf("\n");
  if (!bundle.startsWith("#!") || firstNewline === -1) {
    throw new Error(`fast-start: ${file} does not start with a #! line`);
  }
  const shebang = bundle.slice(0, firstNewline + 1);
  const mapName = `${basename(file)}.map`;
  const mapComment = `//# sourceMappingURL=${mapName}\n`;
  let body = bundle.slice(firstNewline + 1);
  if (body.endsWith(mapComment)) body = body.slice(0, -mapComment.length);
  body = toAscii(body);
  if (body.includes("\x01")) throw new Error("fast-start: the bundle contains a \\x01 character");
  body = body.replaceAll("*/", ESCAPED_END);

  // Layout: shebang, loader, "/*\n", body, "\n*/\n/*\n", cache, "\n*/\n", map comment. The slots are
  // fixed-width, so the offsets can be computed with placeholders in them.
  const placeholders = {
    CODE_START: SLOT,
    CODE_END: SLOT,
    CACHE_START: SLOT,
    CACHE_END: SLOT,
    LINE_OFFSET: SLOT,
  };
  const head = shebang + fill(LOADER, placeholders) + "/*\n";
  const codeStart = Buffer.byteLength(head);
  const codeEnd = codeStart + body.length;
  // The bundle's first line (esbuild's line 2, after its #! line) is the file's line
  // lineCount(head) + 1; the Script's line 1 is the wrapper's own line.
  const lineOffset = lineCount(head) - 1;
  const layout = (cache) => {
    const middle = "\n*/\n/*\n";
    const cacheStart = codeEnd + middle.length;
    const values = {
      CODE_START: codeStart,
      CODE_END: codeEnd,
      CACHE_START: cacheStart,
      CACHE_END: cacheStart + cache.length,
      LINE_OFFSET: lineOffset,
    };
    const text =
      shebang + fill(LOADER, values) + "/*\n" + body + middle + cache + "\n*/\n" + mapComment;
    if (Buffer.byteLength(shebang + fill(LOADER, values) + "/*\n") !== codeStart) {
      throw new Error("fast-start: the loader's size changed while filling in offsets");
    }
    return text;
  };

  await writeFile(file, layout(""));
  const cache = (await makeCodeCache(node, file, { codeStart, codeEnd, lineOffset }, run)).toString(
    "base64",
  );
  await writeFile(file, layout(cache));

  // esbuild's map counts its #! line as line 1; the bundle now starts after the loader.
  const mapFile = `${file}.map`;
  const map = JSON.parse(await readFile(mapFile, "utf8"));
  map.mappings = ";".repeat(lineCount(head) - 1) + map.mappings;
  await writeFile(mapFile, JSON.stringify(map));
}
