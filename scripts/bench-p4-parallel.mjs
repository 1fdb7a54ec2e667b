// `node scripts/bench-p4-parallel.mjs`: P4, 16 agents × 5 turns in parallel
// (scripts/bench/parallel-bench.ts). Needs the built plugin (`npm run build`).
import { runTs } from "./bench/run-ts.mjs";

await runTs("scripts/bench/parallel-bench.ts");
