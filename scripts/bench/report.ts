// Shared by the benchmarks: min / median / max statistics, goal checks, the printed rows, and the
// JSON part each benchmark leaves for scripts/bench.mjs, which merges them into bench/results.json.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** min / median / max of a set of runs. */
export interface Stats {
  min: number;
  median: number;
  max: number;
  runs: number;
}

/** A goal on a row's median, e.g. `{ op: "<=", value: 120 }`. */
export interface Goal {
  op: "<=" | ">=";
  value: number;
}

/** One measurement. */
export interface BenchRow {
  name: string;
  unit: string;
  stats: Stats;
  goal?: Goal;
  /** Set when there is a goal: whether the median meets it. */
  met?: boolean;
  note?: string;
}

/** What one benchmark reports. */
export interface BenchPart {
  /** "P1" … "P6". */
  id: string;
  title: string;
  rows: BenchRow[];
  /** Facts a reader needs next to the figures (what ran, what was checked, why a goal failed). */
  notes: string[];
}

export function stats(values: readonly number[]): Stats {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  // The median of an even count is the mean of the two middle runs.
  const middle = sorted.length / 2;
  const median =
    sorted.length === 0
      ? Number.NaN
      : sorted.length % 2 === 1
        ? (sorted[Math.floor(middle)] ?? Number.NaN)
        : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
  return {
    min: sorted[0] ?? Number.NaN,
    median,
    max: sorted.at(-1) ?? Number.NaN,
    runs: sorted.length,
  };
}

/** Builds a row; with a goal, `met` says whether the median meets it. */
export function row(
  name: string,
  unit: string,
  values: readonly number[] | Stats,
  options: { goal?: Goal; note?: string } = {},
): BenchRow {
  const s = Array.isArray(values) ? stats(values) : (values as Stats);
  const result: BenchRow = { name, unit, stats: s };
  if (options.goal !== undefined) {
    result.goal = options.goal;
    result.met =
      options.goal.op === "<=" ? s.median <= options.goal.value : s.median >= options.goal.value;
  }
  if (options.note !== undefined) result.note = options.note;
  return result;
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString("en-US");
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(abs >= 1 ? 2 : 3);
}

export function formatGoal(goal: Goal | undefined, met: boolean | undefined): string {
  if (goal === undefined) return "";
  return `${goal.op === "<=" ? "≤" : "≥"} ${formatNumber(goal.value)}: ${met === true ? "MET" : "NOT MET"}`;
}

/** The rows as a fixed-width table. */
export function formatRows(rows: readonly BenchRow[]): string {
  const nameWidth = Math.max(...rows.map((r) => r.name.length), 10);
  return rows
    .map((r) => {
      const cells = [r.stats.min, r.stats.median, r.stats.max].map((n) =>
        formatNumber(n).padStart(9),
      );
      const goal = formatGoal(r.goal, r.met);
      return (
        `  ${r.name.padEnd(nameWidth)}  min ${cells[0]}  median ${cells[1]}  max ${cells[2]}` +
        `  ${r.unit.padEnd(9)} (${r.stats.runs} runs)${goal === "" ? "" : `  goal ${goal}`}`
      );
    })
    .join("\n");
}

/**
 * Prints the part and, when run by `npm run bench` (PLEXUM_BENCH_PARTS set), leaves it as JSON for
 * the summary. A part written earlier in the same run under the same id is extended, not replaced.
 */
export function report(part: BenchPart): void {
  process.stdout.write(`\n${part.id}: ${part.title}\n${formatRows(part.rows)}\n`);
  for (const note of part.notes) process.stdout.write(`  · ${note}\n`);
  const dir = process.env["PLEXUM_BENCH_PARTS"];
  if (dir === undefined || dir === "") return;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${part.id}.json`);
  let merged = part;
  try {
    const earlier = JSON.parse(readFileSync(file, "utf8")) as BenchPart;
    merged = {
      ...part,
      rows: [...earlier.rows, ...part.rows],
      notes: [...earlier.notes, ...part.notes],
    };
  } catch {
    // First part under this id.
  }
  writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
}

/** How many runs a benchmark makes: PLEXUM_BENCH_RUNS scales every default (minimum 3). */
export function runs(defaultRuns: number): number {
  const scale = Number(process.env["PLEXUM_BENCH_RUNS"] ?? "");
  return Number.isFinite(scale) && scale > 0 ? Math.max(3, Math.round(scale)) : defaultRuns;
}
