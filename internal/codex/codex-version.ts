// Parsing and comparing `codex --version` output ("codex-cli 0.169.0").

/**
 * The oldest codex the plugin runs: the first release with rollout ordinals, rollout item events,
 * MCP call ids and the "no rollout found" resume error the plugin builds on. Older ones are refused.
 */
export const MIN_CODEX_VERSION = "0.148.0";

/** The newest release the real-codex suite passed against; newer ones run with a warning. */
export const NEWEST_VERIFIED_CODEX_VERSION = "0.171.0";

/** The releases CI runs the real-codex suite against: the minimum, the pin, the newest verified. */
export const TESTED_CODEX_VERSIONS = [MIN_CODEX_VERSION, "0.169.0", NEWEST_VERIFIED_CODEX_VERSION];

const VERSION_LINE = /codex-cli\s+(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?/;

/** The semver in `codex --version` output, or undefined when it is not codex's format. */
export function parseCodexVersion(output: string): string | undefined {
  const match = VERSION_LINE.exec(output);
  if (match === null) return undefined;
  return `${match[1]}.${match[2]}.${match[3]}${match[4] ?? ""}`;
}

/** Negative when a < b, 0 when equal, positive when a > b; a prerelease sorts before its release. */
export function compareVersions(a: string, b: string): number {
  const [coreA = "", preA] = splitPrerelease(a);
  const [coreB = "", preB] = splitPrerelease(b);
  const partsA = coreA.split(".").map(Number);
  const partsB = coreB.split(".").map(Number);
  for (let index = 0; index < 3; index += 1) {
    const difference = (partsA[index] ?? 0) - (partsB[index] ?? 0);
    if (difference !== 0) return difference;
  }
  if (preA === preB) return 0;
  if (preA === undefined) return 1;
  if (preB === undefined) return -1;
  return preA < preB ? -1 : 1;
}

function splitPrerelease(version: string): [string, string | undefined] {
  const dash = version.indexOf("-");
  return dash === -1 ? [version, undefined] : [version.slice(0, dash), version.slice(dash + 1)];
}
