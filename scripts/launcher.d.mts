// Types for scripts/launcher.mjs, for the tests that import it.
export const MIN_NODE: { major: number; minor: number };
export function launcherHeader(): string;
