// The third-party notices of the bundles: every npm package esbuild put into an executable, with
// its licence text. esbuild drops their comments (legalComments "none" keeps the executables
// small), so this file is what carries the licences into a release. Packages come from esbuild's
// metafile, which lists exactly the files that were bundled.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

const LICENSE_FILE = /^(licen[cs]e|copying|notice)(\.(md|txt|markdown))?$/i;

// Code inside a bundled package that the package's own licence file does not cover.
const EMBEDDED = {
  "@hpcc-js/wasm-zstd": {
    what: "zstd (https://github.com/facebook/zstd), compiled to WebAssembly and embedded",
    license: "BSD-3-Clause",
    copyright: ["Copyright (c) Meta Platforms, Inc. and affiliates. All rights reserved."],
  },
};

const BSD_3_CLAUSE = (copyright) => `${copyright.join("\n")}

Redistribution and use in source and binary forms, with or without modification, are permitted
provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this list of
   conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice, this list of
   conditions and the following disclaimer in the documentation and/or other materials provided
   with the distribution.

3. Neither the name of the copyright holder nor the names of its contributors may be used to
   endorse or promote products derived from this software without specific prior written
   permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR
IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND
FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR
CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE,
DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER
IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT
OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.`;

// Licence texts for packages that ship no licence file, by SPDX id.
const STANDARD_TEXTS = {
  "Apache-2.0": () => "The Apache License 2.0, whose full text is in LICENSE next to this file.",
  "BSD-3-Clause": BSD_3_CLAUSE,
};

/** The package directory (…/node_modules/name or …/node_modules/@scope/name) of a bundled file. */
export function packageDirOf(input) {
  const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  return match === null ? undefined : match[1];
}

/**
 * The notices for the npm packages in esbuild metafiles, as Markdown. Throws for a package that
 * ships no licence file and whose licence has no standard text here: a person must look.
 *
 * @param {{ inputs: Record<string, unknown> }[]} metafiles
 * @param {string} root the directory esbuild's input paths are relative to
 */
export async function thirdPartyNotices(metafiles, root) {
  /** @type {Map<string, string[]>} package dir → bundled files */
  const packages = new Map();
  for (const metafile of metafiles) {
    for (const input of Object.keys(metafile.inputs)) {
      const dir = packageDirOf(input);
      if (dir === undefined) continue;
      const files = packages.get(dir) ?? [];
      if (!files.includes(input)) files.push(input);
      packages.set(dir, files);
    }
  }
  const entries = [];
  for (const [dir, files] of packages) {
    const manifest = JSON.parse(await readFile(join(root, dir, "package.json"), "utf8"));
    entries.push({ dir, files, name: manifest.name, version: manifest.version, manifest });
  }
  entries.sort((a, b) =>
    a.name === b.name ? a.dir.localeCompare(b.dir) : a.name < b.name ? -1 : 1,
  );

  const sections = [];
  for (const entry of entries) {
    const license = licenseOf(entry.manifest);
    const lines = [`## ${entry.name} ${entry.version}`, "", `License: ${license}`];
    const texts = [];
    for (const name of (await readdir(join(root, entry.dir))).sort()) {
      if (LICENSE_FILE.test(name)) texts.push(await readFile(join(root, entry.dir, name), "utf8"));
    }
    if (texts.length === 0) {
      const copyright = await copyrightLines(root, entry.files);
      lines.push("", "The package ships no licence file; its bundled sources say:", "");
      lines.push(...copyright.map((line) => `- ${line}`));
      for (const id of spdxIds(license)) {
        const text = STANDARD_TEXTS[id];
        if (text === undefined) {
          throw new Error(
            `third-party notices: ${entry.name} ${entry.version} ships no licence file and its ` +
              `licence ${license} has no standard text in scripts/third-party-notices.mjs`,
          );
        }
        texts.push(`${id}:\n\n${text(copyright.filter((line) => /copyright/i.test(line)))}`);
      }
    }
    for (const text of texts)
      lines.push("", "```text", text.trim().replaceAll("```", "'''"), "```");
    const embedded = EMBEDDED[entry.name];
    if (embedded !== undefined) {
      lines.push("", `It contains ${embedded.what}, under ${embedded.license}:`);
      lines.push("", "```text", BSD_3_CLAUSE(embedded.copyright), "```");
    }
    sections.push(lines.join("\n"));
  }
  return [
    "# Third-party notices",
    "",
    "The executables (plexum-openai-provider-plugin, plexum-dev-host) bundle the npm packages",
    "below. Each is listed with its licence as it ships it. The plugin itself is under the",
    "Apache License 2.0 (LICENSE).",
    "",
    sections.join("\n\n"),
    "",
  ].join("\n");
}

function licenseOf(manifest) {
  if (typeof manifest.license === "string") return manifest.license;
  if (Array.isArray(manifest.licenses)) {
    return manifest.licenses.map((license) => license.type ?? String(license)).join(" OR ");
  }
  return "UNKNOWN";
}

function spdxIds(expression) {
  return [...new Set(expression.match(/[A-Za-z0-9.+-]+/g) ?? [])].filter(
    (id) => !["AND", "OR", "WITH"].includes(id),
  );
}

// The distinct "Copyright …" lines in a package's bundled files, comment markers removed.
async function copyrightLines(root, files) {
  const found = new Set();
  for (const file of files) {
    const text = await readFile(join(root, file), "utf8");
    for (const match of text.matchAll(/^[\s/*#]*(Copyright (?:\(c\) )?\d{4}.*?)\s*(\*\/)?$/gm)) {
      found.add(match[1]);
    }
  }
  return [...found].sort();
}
