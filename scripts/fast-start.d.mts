// Types for scripts/fast-start.mjs, for the unit tests that import it.
import type { Plugin } from "esbuild";

export function toAscii(code: string): string;
export function packFastStart(options: { file: string; node: string; run: boolean }): Promise<void>;
export const builtinDynamicImports: Plugin;
