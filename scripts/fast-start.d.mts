// Types for scripts/fast-start.mjs, for the unit tests that import it.
import type { Plugin } from "esbuild";

export function toAscii(code: string): string;
export function packFastStart(options: { file: string; header: string }): Promise<void>;
export function prependHeader(options: { file: string; header: string }): Promise<void>;
export const builtinDynamicImports: Plugin;
export const CODE_CACHE_SAVE_DELAY_MS: number;
