// Types for scripts/third-party-notices.mjs, for the unit tests that import it.
export function packageDirOf(input: string): string | undefined;
export function thirdPartyNotices(
  metafiles: { inputs: Record<string, unknown> }[],
  root: string,
): Promise<string>;
