// Packs a bundle built by scripts/build.mjs into a fast-starting executable that is still one file
// (docs/benchmarks.md, P1). Parsing the 3 MB bundle was the largest part of the plugin's start, and
// Node 20 has no compile cache for CommonJS. So the executable is:
//
//   the launcher (scripts/launcher.mjs): sh that starts node on this file, and a version check
//   a small loader (below)
//   /*
//   the bundle, ASCII only, every `*` `/` pair stored as `*` \x01
//   */
//
// Node parses only the launcher and the loader: skipping a comment costs a few milliseconds,
// parsing the bundle tens. The loader compiles the bundle with vm.Script and a V8 code cache that
// the node running it made on an earlier start, after start-up had run, so the cache also holds
// the code of every function start-up needed (Node 22's own compile cache is made right after
// compiling, before anything ran, and holds only what V8 compiles eagerly). The cache belongs to
// one node binary: a cache made by another node build can pass V8's checks and still crash it
// (seen: a cache made by Node 20.20.2 segfaulted 20.17.0, both V8 11.3.244.8), so it is never
// shipped in the file, only made where it runs. Stack traces keep the file's own line numbers, and
// the linked source map is shifted to match.
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { basename } from "node:path";

import * as acorn from "acorn";

const ESCAPED_END = "*\x01";
// Fixed-width slots in the loader for the offsets, filled in once the layout is known.
const SLOT = " ".repeat(10);

/** How long after start-up the loader writes a missing code cache (ms). */
export const CODE_CACHE_SAVE_DELAY_MS = 1000;

// The loader. CommonJS in strict mode (the launcher's "use strict"), ASCII only, and no syntax
// newer than ES2017, because it is parsed before the launcher's version check runs. `@NAME@` are
// filled in by packFastStart.
const LOADER = `// Fast start (scripts/fast-start.mjs): the bundle is the comment below, so node parses only this
// loader. It compiles the bundle with a V8 code cache made by this same node on an earlier start,
// kept in $PLEXUM_CODE_CACHE (a directory; "off" disables it; default $TMPDIR/@NAME@-<uid>).
// Without one it compiles from source and writes the cache once start-up has run.
(() => {
  const fs = require("node:fs");
  const path = require("node:path");
  const { Script } = require("node:vm");
  const trace = (fields) => {
    if (process.env.PLEXUM_FAST_START_TRACE !== "1") return;
    fields["@level"] = "debug";
    fields["@message"] = "fast start";
    fields["@timestamp"] = new Date().toISOString().replace("Z", "000Z");
    process.stderr.write(JSON.stringify(fields) + "\\n");
  };
  const readRange = (fd, start, end) => {
    const bytes = Buffer.allocUnsafe(end - start);
    let done = 0;
    while (done < bytes.length) {
      const n = fs.readSync(fd, bytes, done, bytes.length - done, start + done);
      if (n === 0) throw new Error(__filename + " is truncated");
      done += n;
    }
    return bytes;
  };
  // Where this node's cache for this bundle lives, if the directory is this user's alone: a code
  // cache is code, so one planted by another user must never be loaded.
  const locateCache = () => {
    const setting = process.env.PLEXUM_CODE_CACHE;
    if (setting === "off") return { reason: "PLEXUM_CODE_CACHE=off" };
    const uid = process.getuid();
    let dir = path.join(require("node:os").tmpdir(), "@NAME@-" + uid);
    if (setting !== undefined && setting !== "") {
      if (!path.isAbsolute(setting)) return { reason: "PLEXUM_CODE_CACHE is not an absolute path" };
      dir = setting;
    }
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const info = fs.lstatSync(dir);
      if (!info.isDirectory() || info.uid !== uid || (info.mode & 0o022) !== 0) {
        return { reason: dir + " is not a directory that only uid " + uid + " can write" };
      }
      const node = fs.statSync(process.execPath);
      // FNV-1a of what identifies this node binary, so an upgrade in place makes a new cache.
      const id = [process.execPath, node.ino, node.size, node.mtimeMs, process.versions.v8].join("|");
      let hash = 0x811c9dc5;
      for (let i = 0; i < id.length; i += 1) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
      const mode = process.argv[2] === "mcp-host" ? "mcp-host" : "serve";
      const name = ["@BUNDLE_ID@", mode, process.version, process.arch, (hash >>> 0).toString(16)];
      // Only the plugin itself and its MCP bridge write: other commands are short and rare.
      const write = process.argv.length <= 2 || mode === "mcp-host";
      return { file: path.join(dir, name.join("-") + ".v8cache"), write };
    } catch (error) {
      return { reason: String(error) };
    }
  };
  const readCache = (file) => {
    let fd;
    try {
      fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch (error) {
      return undefined;
    }
    try {
      const info = fs.fstatSync(fd);
      if (!info.isFile() || info.uid !== process.getuid()) return undefined;
      return readRange(fd, 0, info.size);
    } finally {
      fs.closeSync(fd);
    }
  };
  const saveCache = (file, script) => {
    const temp = file + "." + process.pid + ".tmp";
    try {
      const data = script.createCachedData();
      fs.writeFileSync(temp, data, { mode: 0o600, flag: "wx" });
      fs.renameSync(temp, file);
      trace({ code_cache: "written", file: file, bytes: data.length });
    } catch (error) {
      try {
        fs.unlinkSync(temp);
      } catch (ignored) {
        // Nothing was written.
      }
      trace({ code_cache: "not written", file: file, reason: String(error) });
    }
  };

  const fd = fs.openSync(__filename, "r");
  let code;
  try {
    code = readRange(fd, @CODE_START@, @CODE_END@).toString("latin1").replaceAll("${"*\\x01"}", "*/");
  } finally {
    fs.closeSync(fd);
  }
  const cache = locateCache();
  const cachedData = cache.file === undefined ? undefined : readCache(cache.file);
  const script = new Script(
    "(function (exports, require, module, __filename, __dirname) {\\n" + code + "\\n})",
    { filename: __filename, lineOffset: @LINE_OFFSET@, cachedData: cachedData },
  );
  const state =
    cachedData === undefined ? "none" : script.cachedDataRejected ? "rejected" : "accepted";
  trace({ code_cache: state, file: cache.file, reason: cache.reason });
  if (cache.file !== undefined && cache.write && state !== "accepted") {
    setTimeout(() => saveCache(cache.file, script), @SAVE_DELAY@).unref();
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

/**
 * Rewrites `file` (an esbuild CommonJS bundle with a linked source map next to it) into the
 * fast-start layout described at the top of this file, behind `header` (the launcher).
 *
 * @param {{ file: string, header: string }} options
 */
export async function packFastStart({ file, header }) {
  const mapComment = `//# sourceMappingURL=${basename(file)}.map\n`;
  let body = await readFile(file, "utf8");
  if (body.endsWith(mapComment)) body = body.slice(0, -mapComment.length);
  body = toAscii(body);
  if (body.includes("\x01")) throw new Error("fast-start: the bundle contains a \\x01 character");
  body = body.replaceAll("*/", ESCAPED_END);
  const bundleId = `${basename(file)}-${createHash("sha256").update(body).digest("hex").slice(0, 16)}`;
  const loader = LOADER.replaceAll("@NAME@", basename(file)).replace("@BUNDLE_ID@", bundleId);

  // Layout: header, loader, "/*\n", body, "\n*/\n", map comment. The slots are fixed-width, so the
  // offsets can be computed with placeholders in them.
  const placeholders = { CODE_START: SLOT, CODE_END: SLOT, LINE_OFFSET: SLOT, SAVE_DELAY: SLOT };
  const head = header + fill(loader, placeholders) + "/*\n";
  const codeStart = Buffer.byteLength(head);
  const codeEnd = codeStart + body.length;
  // The bundle's first line is the file's line lineCount(head) + 1; the Script's line 1 is the
  // wrapper's own line.
  const lineOffset = lineCount(head) - 1;
  const values = {
    CODE_START: codeStart,
    CODE_END: codeEnd,
    LINE_OFFSET: lineOffset,
    SAVE_DELAY: CODE_CACHE_SAVE_DELAY_MS,
  };
  const filledHead = header + fill(loader, values) + "/*\n";
  if (Buffer.byteLength(filledHead) !== codeStart) {
    throw new Error("fast-start: the loader's size changed while filling in offsets");
  }
  if (/[^\n\x20-\x7e]/.test(filledHead)) throw new Error("fast-start: the loader is not ASCII");
  await writeFile(file, filledHead + body + "\n*/\n" + mapComment);
  await shiftSourceMap(file, lineCount(head));
}

/**
 * Puts `header` (the launcher) in front of a plain esbuild bundle, for executables that are not
 * packed (the dev host, and the plugin built with --no-fast-start).
 *
 * @param {{ file: string, header: string }} options
 */
export async function prependHeader({ file, header }) {
  await writeFile(file, header + (await readFile(file, "utf8")));
  await shiftSourceMap(file, lineCount(header));
}

// The bundle's line 1 is now the file's line `lines + 1`.
async function shiftSourceMap(file, lines) {
  const mapFile = `${file}.map`;
  const map = JSON.parse(await readFile(mapFile, "utf8"));
  map.mappings = ";".repeat(lines) + map.mappings;
  await writeFile(mapFile, JSON.stringify(map));
}
