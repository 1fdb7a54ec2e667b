// `node scripts/bench-p3-throughput.mjs`: P3, event throughput and memory under a slow client
// (scripts/bench/throughput-bench.ts). Needs the built plugin (`npm run build`).
import { runTs } from "./bench/run-ts.mjs";

await runTs("scripts/bench/throughput-bench.ts");
