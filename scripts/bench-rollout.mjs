// `node scripts/bench-rollout.mjs`: P6, the rollout mirror and Consume benchmark
// (scripts/bench/rollout-bench.ts) on a synthetic 100 MB rollout; BENCH_ROLLOUT_MB changes the size.
import { runTs } from "./bench/run-ts.mjs";

await runTs("scripts/bench/rollout-bench.ts");
