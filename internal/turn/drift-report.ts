// Codex output that no longer matches what this plugin understands: a warning notice with code
// CODEX_SCHEMA_DRIFT, once per kind per turn, naming the codex version and the offending line,
// shortened (secrets given to codex are scrubbed from every event of the turn as well).
import type { CanonicalEvent } from "../core/canonical-event.js";

/** What changed, as far as the plugin can tell. */
export const DRIFT_KINDS = {
  unknown_event_type: "printed an event type",
  unknown_item_type: "printed an item type",
  thread_id_missing: "announced a thread without a thread id",
  usage_fields_missing: "reported usage without some of its token counts",
  rollout_ordinal_missing: "wrote rollout lines without an ordinal",
  token_count_shape: "recorded token counts or rate limits in a shape",
  mcp_call_id_missing: "called a host tool without _meta.callId",
  usage_sum_mismatch: "reported per-request usage (app-server `last`) that does not add up to",
} as const;

export type DriftKind = keyof typeof DRIFT_KINDS;

/** The longest sample of an offending line a notice quotes. */
export const DRIFT_SAMPLE_CHARS = 300;

/** One turn's drift notices. */
export class DriftReport {
  readonly #codexVersion: string;
  readonly #seen = new Set<DriftKind>();

  constructor(codexVersion: string) {
    this.#codexVersion = codexVersion;
  }

  /** The notice for `kind`, the first time it is seen in this turn. */
  notice(kind: DriftKind, sample: string): CanonicalEvent | undefined {
    if (this.#seen.has(kind)) return undefined;
    this.#seen.add(kind);
    const line =
      sample.length > DRIFT_SAMPLE_CHARS ? `${sample.slice(0, DRIFT_SAMPLE_CHARS)}…` : sample;
    const version = this.#codexVersion === "" ? "codex" : `codex ${this.#codexVersion}`;
    return {
      kind: "notice",
      notice: "warning",
      code: "CODEX_SCHEMA_DRIFT",
      message:
        `${version} ${DRIFT_KINDS[kind]} that this plugin does not understand; events may be ` +
        `missing or incomplete: ${line}`,
    };
  }
}
