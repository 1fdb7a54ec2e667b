// `node scripts/bench-p2-turn.mjs`: P2, turn overhead against plain `codex exec` and
// @openai/codex-sdk (scripts/bench/turn-bench.ts). Needs the built plugin (`npm run build`).
import { runTs } from "./bench/run-ts.mjs";

await runTs("scripts/bench/turn-bench.ts");
