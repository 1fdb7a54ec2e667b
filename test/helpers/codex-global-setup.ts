// Vitest globalSetup of the suites that run a real codex: says once per run which codex that is,
// and fails the run at once when CODEX_BIN names a file that does not exist.
import { codexUnderTest, describeCodex } from "./codex-bin.js";

export function setup(): void {
  process.stdout.write(`[codex under test] ${describeCodex(codexUnderTest())}\n`);
}
