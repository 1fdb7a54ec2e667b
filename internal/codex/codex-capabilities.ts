// What the plugin can rely on from a given codex release. Codex changes its output from release to
// release; the features below are the ones the plugin's behaviour depends on, each with the first
// release that has it (measured with test/e2e/codex-schema.test.ts and the real-codex e2e files
// against the npm releases). A codex missing a feature is still used: the feature is gated, and
// GetInfo, Configure and doctor say what works differently.
import {
  compareVersions,
  MIN_CODEX_VERSION,
  NEWEST_VERIFIED_CODEX_VERSION,
} from "./codex-version.js";

/** A codex behaviour the plugin depends on. */
export type CodexFeature =
  | "rollout_ordinals"
  | "rollout_item_events"
  | "mcp_call_ids"
  | "mcp_text_results"
  | "usage_cache_write"
  | "resume_images"
  | "resume_zst"
  | "app_server_turns";

export interface CodexFeatureInfo {
  /** The first release that has it. */
  since: string;
  /** The last release seen without it; releases in between were not tried. */
  lastWithout: string;
  /** What codex does, in a phrase. */
  what: string;
  /** What the plugin does differently without it. */
  without: string;
  /** Set when only this backend depends on it: Configure warns only when that backend is chosen. */
  backend?: "app-server";
}

/** Every feature, with the first release that has it; below the minimum only for the record. */
export const CODEX_FEATURES: Readonly<Record<CodexFeature, CodexFeatureInfo>> = {
  rollout_ordinals: {
    since: "0.148.0",
    lastWithout: "0.147.0",
    what: "numbers every rollout line (`ordinal`)",
    without:
      "after someone else rewrites a rollout, the mirror cannot tell which lines it already " +
      "reported, so tool calls written since its last read are not reported",
  },
  rollout_item_events: {
    since: "0.148.0",
    lastWithout: "0.147.0",
    what: "records completed items (event_msg/item_completed) in the rollout",
    without: "calls nested in a code-mode `exec` call are not reported as tool_call events",
  },
  mcp_call_ids: {
    since: "0.148.0",
    lastWithout: "0.147.0",
    what: "sends the model's call id with each MCP tools/call (`_meta.callId`)",
    without:
      "HostToolCall.call_id is empty, so a host tool call cannot be matched to its tool_call",
  },
  mcp_text_results: {
    since: "0.151.0",
    lastWithout: "0.150.0",
    what: "passes an MCP tool's text result to the model as text",
    without:
      "host tool results reach the model as a JSON-encoded MCP content array " +
      '(`[{"type":"text","text":…}]`) instead of the text',
  },
  usage_cache_write: {
    since: "0.147.0",
    lastWithout: "0.142.0",
    what: "reports cache_write_input_tokens in turn usage",
    without: "cache-write tokens are reported as 0",
  },
  resume_images: {
    since: "0.142.0",
    lastWithout: "0.135.0",
    what: "sends `--image` files on a resumed turn",
    without: "images on a resumed turn never reach the model",
  },
  resume_zst: {
    since: "0.142.0",
    lastWithout: "0.135.0",
    what: "resumes a compressed (.jsonl.zst) rollout",
    without: "a thread whose rollout is compressed cannot be resumed",
  },
  app_server_turns: {
    since: "0.169.0",
    lastWithout: "0.148.0",
    what:
      "runs the app-server backend's turns as this plugin drives them (a thread archived and " +
      "unarchived is resumed from its rollout; servers of one CODEX_HOME share its state database)",
    without:
      'backend "app-server" refuses every turn with BACKEND_UNSUPPORTED (use backend "exec"); ' +
      "the exec backend is not affected",
    backend: "app-server",
  },
};

const ALL_FEATURES = Object.keys(CODEX_FEATURES) as CodexFeature[];

/** The features `version` has, in the table's order. */
export function codexFeatures(version: string): CodexFeature[] {
  return ALL_FEATURES.filter(
    (feature) => compareVersions(version, CODEX_FEATURES[feature].since) >= 0,
  );
}

/** The features `version` lacks, in the table's order. */
export function missingCodexFeatures(version: string): CodexFeature[] {
  const has = new Set(codexFeatures(version));
  return ALL_FEATURES.filter((feature) => !has.has(feature));
}

/** The features `version` lacks that matter under `backend` (Configure and doctor warn of these). */
export function missingFeaturesFor(
  version: string,
  backend: "exec" | "app-server",
): CodexFeature[] {
  return missingCodexFeatures(version).filter((feature) => {
    const only = CODEX_FEATURES[feature].backend;
    return only === undefined || only === backend;
  });
}

/** True when `version` is newer than every release this plugin was tested with. */
export function isUntestedCodex(version: string): boolean {
  return compareVersions(version, NEWEST_VERIFIED_CODEX_VERSION) > 0;
}

/** One sentence per missing feature: what the plugin does differently, and from which release not. */
export function missingFeatureNotes(
  version: string,
  features: readonly CodexFeature[] = missingCodexFeatures(version),
): string[] {
  return features.map((feature) => {
    const info = CODEX_FEATURES[feature];
    return `codex ${version} has no ${feature} (codex ${info.since} or newer ${info.what}): ${info.without}`;
  });
}

/** A Configure diagnostic: a summary line and what to do about it. */
export interface CodexDiagnostic {
  summary: string;
  detail: string;
  /** The config field it concerns. */
  field: "binary";
}

/**
 * The warning for a codex newer than the newest tested release; undefined for a tested one. The
 * codex is used all the same.
 */
export function untestedCodexDiagnostic(version: string): CodexDiagnostic | undefined {
  if (!isUntestedCodex(version)) return undefined;
  return {
    summary:
      `codex ${version} is untested: this plugin was tested with codex ${MIN_CODEX_VERSION} to ` +
      `${NEWEST_VERIFIED_CODEX_VERSION}; it is used, but its output may have changed`,
    detail:
      "if turns, tool calls or Consume misbehave, point `binary` at codex " +
      `${NEWEST_VERIFIED_CODEX_VERSION} (npm i -g @openai/codex@${NEWEST_VERIFIED_CODEX_VERSION}) ` +
      "and report the difference",
    field: "binary",
  };
}

/**
 * The Configure warnings for one codex version under the configured backend: untested, then each
 * missing feature that backend depends on.
 */
export function codexVersionDiagnostics(
  version: string,
  backend: "exec" | "app-server",
): CodexDiagnostic[] {
  const untested = untestedCodexDiagnostic(version);
  const relevant = missingFeaturesFor(version, backend);
  const missing = missingFeatureNotes(version, relevant).map((note): CodexDiagnostic => ({
    summary: note,
    detail: `upgrade codex to get it (npm i -g @openai/codex@${NEWEST_VERIFIED_CODEX_VERSION})`,
    field: "binary",
  }));
  return untested === undefined ? missing : [untested, ...missing];
}

/** GetInfo capability strings for the features a codex has: `codex.<feature>`. */
export function codexCapabilityNames(features: readonly CodexFeature[]): string[] {
  return features.map((feature) => `codex.${feature}`);
}
