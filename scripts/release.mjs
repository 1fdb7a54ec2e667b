// `npm run release`: packs what an operator installs (README, Install) into
// release/plexum-openai-provider-plugin-<version>.tgz with `npm pack`: the two executables from
// dist/ (run `npm run build` first; the npm script does) and their source maps under bin/,
// LICENSE, the third-party notices and the README. The package is staged with a manifest of its
// own, with no dependencies (the executables bundle them) and none of the repository's sources or
// tests, so `npm pack` ships exactly these files.
//
//   node scripts/release.mjs [--outdir DIR]
import { spawnSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The operator's package: its name, and what goes where in it. */
const RELEASE_NAME = "plexum-openai-provider-plugin";
const RELEASE_EXECUTABLES = ["plexum-openai-provider-plugin", "plexum-dev-host"];

const outdirFlag = process.argv.indexOf("--outdir");
const outdir = resolve(outdirFlag === -1 ? "release" : (process.argv[outdirFlag + 1] ?? ""));

const repo = JSON.parse(await readFile("package.json", "utf8"));
const manifest = {
  name: RELEASE_NAME,
  version: repo.version,
  description: repo.description,
  license: repo.license,
  os: repo.os,
  engines: repo.engines,
  bin: Object.fromEntries(RELEASE_EXECUTABLES.map((name) => [name, `bin/${name}`])),
  files: ["bin/", "THIRD_PARTY_NOTICES.md"],
};

const stage = await mkdtemp(join(tmpdir(), "plexum-release-"));
try {
  const root = join(stage, RELEASE_NAME);
  await mkdir(join(root, "bin"), { recursive: true });
  for (const name of RELEASE_EXECUTABLES) {
    for (const file of [name, `${name}.map`]) {
      const from = join("dist", file);
      if (!(await stat(from).catch(() => undefined))?.isFile()) {
        throw new Error(`${from} is missing: run \`npm run build\` first`);
      }
      await copyFile(from, join(root, "bin", file));
    }
  }
  await copyFile("dist/THIRD_PARTY_NOTICES.md", join(root, "THIRD_PARTY_NOTICES.md"));
  await copyFile("LICENSE", join(root, "LICENSE"));
  await copyFile("README.md", join(root, "README.md"));
  await writeFile(join(root, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);

  await mkdir(outdir, { recursive: true });
  const packed = spawnSync(
    "npm",
    ["pack", "--json", "--ignore-scripts", "--pack-destination", outdir, root],
    { encoding: "utf8" },
  );
  if (packed.status !== 0) throw new Error(`npm pack failed:\n${packed.stderr}`);
  const [result] = JSON.parse(packed.stdout);
  const tarball = join(outdir, result.filename);
  process.stdout.write(`${tarball}\n`);
  for (const file of result.files) process.stdout.write(`  ${file.path} (${file.size} bytes)\n`);
} finally {
  await rm(stage, { recursive: true, force: true });
}
