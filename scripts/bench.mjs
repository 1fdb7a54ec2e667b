// `npm run bench` (after its build step): runs every scripts/bench-*.mjs in turn, prints each one's
// output, then a summary table, and writes bench/results.json. `npm run bench -- p1 p3` runs only
// the benchmarks whose file name contains one of the words. A benchmark that fails is reported and
// the others still run; the exit status is then 1. With words, the other benchmarks' entries in an
// existing bench/results.json are kept. Benchmarks are never part of `npm test`.
//
// Each benchmark leaves its figures as JSON in $PLEXUM_BENCH_PARTS (scripts/bench/report.ts). A
// benchmark that only prints rows in the form `<name>  min X  median Y  max Z <unit> (N runs)
// [goal ≤ G …]` is read from its output instead.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { cpus, freemem, loadavg, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";

// Benchmarks that print rows but write no JSON part, and where their figures go.
const PRINTED = {
  "bench-rollout.mjs": { id: "P6", title: "rollout mirror and Consume (issue 4)" },
};

const filters = process.argv.slice(2).map((word) => word.toLowerCase());
const benches = readdirSync("scripts")
  .filter((name) => /^bench-.+\.mjs$/.test(name))
  .filter((name) => filters.length === 0 || filters.some((word) => name.includes(word)))
  .sort();

function runBench(name, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`scripts/${name}`], {
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.on("close", (code, signal) => resolve({ code, signal, output }));
  });
}

const number = (text) => Number(text.replaceAll(",", ""));

// Rows printed as `<name> min X median Y max Z <unit> (N runs) [goal ≤ G …]`.
function parsePrintedRows(output) {
  const rows = [];
  const pattern =
    /^\s*(.+?)\s+min\s+([\d.,]+)\s+median\s+([\d.,]+)\s+max\s+([\d.,]+)\s+(\S+)\s+\((\d+) runs\)(?:\s+goal\s+([≤≥])\s*([\d.,]+))?/;
  for (const line of output.split("\n")) {
    const match = pattern.exec(line);
    if (match === null) continue;
    const [, name, min, median, max, unit, count, op, goal] = match;
    const row = {
      name,
      unit,
      stats: { min: number(min), median: number(median), max: number(max), runs: Number(count) },
    };
    if (op !== undefined) {
      row.goal = { op: op === "≤" ? "<=" : ">=", value: number(goal) };
      row.met =
        op === "≤" ? row.stats.median <= row.goal.value : row.stats.median >= row.goal.value;
    }
    rows.push(row);
  }
  return rows;
}

function format(value) {
  if (!Number.isFinite(value)) return "n/a";
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString("en-US");
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(abs >= 1 ? 2 : 3);
}

function machine() {
  const cpuList = cpus();
  const codex = spawnSync("node_modules/.bin/codex", ["--version"], { encoding: "utf8" });
  const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" });
  const dirty = spawnSync("git", ["status", "--porcelain"], { encoding: "utf8" });
  return {
    cpu: cpuList[0]?.model ?? "unknown",
    cpus: cpuList.length,
    memory_gib: Number((totalmem() / 2 ** 30).toFixed(1)),
    free_memory_gib: Number((freemem() / 2 ** 30).toFixed(1)),
    os: `${process.platform} ${release()}`,
    node: process.version,
    codex: codex.stdout.trim() || "unknown",
    commit: `${commit.stdout.trim()}${dirty.stdout.trim() === "" ? "" : " (uncommitted changes)"}`,
  };
}

const partsDir = mkdtempSync(join(tmpdir(), "plexum-bench-parts-"));
const env = { ...process.env, PLEXUM_BENCH_PARTS: partsDir };
const startedAt = new Date();
const loadBefore = loadavg()[0];
const failures = [];
const printed = [];
for (const name of benches) {
  process.stdout.write(`\n== ${name}\n`);
  const result = await runBench(name, env);
  if (result.code !== 0) {
    failures.push({ bench: name, exit: result.code ?? result.signal });
    process.stdout.write(`!! ${name} failed (exit ${result.code ?? result.signal})\n`);
  }
  const known = PRINTED[name];
  if (known !== undefined) {
    const rows = parsePrintedRows(result.output);
    if (rows.length > 0) {
      printed.push({ ...known, rows, notes: [`read from the output of scripts/${name}`] });
    }
  }
}

const finishedAt = new Date();
const run = {
  started_at: startedAt.toISOString(),
  finished_at: finishedAt.toISOString(),
  load_average_1min: { before: loadBefore, after: loadavg()[0] },
};
const fresh = [
  ...readdirSync(partsDir).map((file) => JSON.parse(readFileSync(join(partsDir, file), "utf8"))),
  ...printed,
].map((part) => ({ ...part, run }));
rmSync(partsDir, { recursive: true, force: true });

// A run of some benchmarks replaces theirs in an existing results.json and keeps the others, each
// with the run it came from.
let kept = [];
if (filters.length > 0) {
  try {
    const earlier = JSON.parse(readFileSync("bench/results.json", "utf8"));
    const ids = new Set(fresh.map((part) => part.id));
    kept = (earlier.benchmarks ?? [])
      .filter((part) => !ids.has(part.id))
      .map((part) => ({
        run: earlier.run ?? {
          started_at: earlier.started_at,
          finished_at: earlier.finished_at,
          load_average_1min: earlier.load_average_1min,
        },
        ...part,
      }));
  } catch {
    // No earlier results.
  }
}
const parts = [...fresh, ...kept].sort((a, b) => a.id.localeCompare(b.id, "en", { numeric: true }));

const results = {
  machine: machine(),
  run,
  benchmarks: parts,
  failures,
};
await mkdir("bench", { recursive: true });
writeFileSync("bench/results.json", `${JSON.stringify(results, null, 2)}\n`);

// The summary: every row, goals marked.
const lines = [];
const width = Math.max(20, ...parts.flatMap((part) => part.rows.map((row) => row.name.length)));
for (const part of parts) {
  lines.push(`${part.id}  ${part.title}`);
  for (const row of part.rows) {
    const goal =
      row.goal === undefined
        ? ""
        : `  goal ${row.goal.op === "<=" ? "≤" : "≥"} ${format(row.goal.value)}  ` +
          (row.met ? "MET" : "NOT MET");
    const { min, median, max, runs } = row.stats;
    lines.push(
      `    ${row.name.padEnd(width)} ${format(min).padStart(9)} ${format(median).padStart(9)} ` +
        `${format(max).padStart(9)}  ${row.unit.padEnd(8)} ${String(runs).padStart(3)}${goal}`,
    );
  }
}
const m = results.machine;
process.stdout.write(
  `\n== summary (min / median / max, runs) — ${m.cpus}× ${m.cpu}, node ${m.node}, ${m.codex}, ` +
    `load ${loadBefore.toFixed(2)} → ${loadavg()[0].toFixed(2)}\n${lines.join("\n")}\n`,
);
for (const failure of failures) {
  process.stdout.write(`FAILED: ${failure.bench} (exit ${failure.exit})\n`);
}
process.stdout.write("wrote bench/results.json\n");
process.exit(failures.length === 0 ? 0 : 1);
