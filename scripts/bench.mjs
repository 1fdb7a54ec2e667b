// `npm run bench` (after its build step): runs every scripts/bench-*.mjs in turn and stops at the
// first failure. Benchmarks are never part of `npm test`.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";

const benches = readdirSync("scripts")
  .filter((name) => /^bench-.+\.mjs$/.test(name))
  .sort();
for (const name of benches) {
  process.stdout.write(`\n== ${name}\n`);
  const run = spawnSync(process.execPath, [`scripts/${name}`], { stdio: "inherit" });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
