// `node scripts/bench-p7-first-delta.mjs`: P7, RunTurn → the first text_delta with backend
// "app-server", a mock streaming one token per 50 ms (scripts/bench/first-delta-bench.ts). Needs
// the built plugin (`npm run build`).
import { runTs } from "./bench/run-ts.mjs";

await runTs("scripts/bench/first-delta-bench.ts");
