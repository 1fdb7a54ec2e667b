// `node scripts/bench-p1-startup.mjs`: P1, spawn → handshake (scripts/bench/startup-bench.ts).
// Needs the built plugin (`npm run build`).
import { runTs } from "./bench/run-ts.mjs";

await runTs("scripts/bench/startup-bench.ts");
