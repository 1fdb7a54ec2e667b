// Model knobs a host may set per turn (and an operator per config), each checked against the values
// codex 0.169.0 takes and rendered as one `-c key=value` override.

/**
 * codex's model_reasoning_effort, sent as the request's `reasoning.effort`. Codex 0.169.0 does not
 * check the value (it sends any string), so the plugin does. Measured against the mock: every value
 * is sent as given except `ultra` (sent as "xhigh") and `persistent` (sent as "disabled").
 */
export const REASONING_EFFORTS = [
  "none",
  "minimal",
  "low",
  "medium",
  "high",
  "xhigh",
  "max",
  "ultra",
  "persistent",
] as const;
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];

/** A knob of TurnOptions.model_settings: the codex config key and the values it accepts. */
interface ModelSetting {
  readonly configKey: string;
  readonly values: readonly string[];
}

/**
 * The knobs of TurnOptions.model_settings. Codex rejects bad values of the first, second and last
 * at start-up with a config error; an unknown service tier is only warned about and dropped.
 */
export const MODEL_SETTINGS: Readonly<Record<string, ModelSetting>> = {
  // The request's text.verbosity.
  verbosity: { configKey: "model_verbosity", values: ["low", "medium", "high"] },
  // The request's reasoning.summary.
  reasoning_summary: {
    configKey: "model_reasoning_summary",
    values: ["auto", "concise", "detailed", "none"],
  },
  // The request's service_tier; codex sends "fast" as "priority".
  service_tier: { configKey: "service_tier", values: ["flex", "fast"] },
  // codex's web search tool.
  web_search: { configKey: "web_search", values: ["disabled", "cached", "indexed", "live"] },
};

export type KnobResult = { ok: true; assignments: string[] } | { ok: false; message: string };

/** Checks an effort; returns its `-c` assignment. */
export function reasoningEffortAssignment(effort: string): KnobResult {
  if (!(REASONING_EFFORTS as readonly string[]).includes(effort)) {
    return {
      ok: false,
      message: `reasoning effort "${effort}" is not one of ${REASONING_EFFORTS.join(", ")}`,
    };
  }
  return { ok: true, assignments: [`model_reasoning_effort=${JSON.stringify(effort)}`] };
}

/** Checks every model setting; returns their `-c` assignments in key order. */
export function modelSettingsAssignments(settings: Readonly<Record<string, string>>): KnobResult {
  const assignments: string[] = [];
  for (const key of Object.keys(settings).sort()) {
    const value = settings[key] ?? "";
    const setting = Object.hasOwn(MODEL_SETTINGS, key) ? MODEL_SETTINGS[key] : undefined;
    if (setting === undefined) {
      return {
        ok: false,
        message: `model setting "${key}" is not one of ${Object.keys(MODEL_SETTINGS).join(", ")}`,
      };
    }
    if (!setting.values.includes(value)) {
      return {
        ok: false,
        message: `model setting ${key} "${value}" is not one of ${setting.values.join(", ")}`,
      };
    }
    assignments.push(`${setting.configKey}=${JSON.stringify(value)}`);
  }
  return { ok: true, assignments };
}
