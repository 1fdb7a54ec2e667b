// The host config the daemon hands the plugin: JSON, snake_case, strict (unknown keys are errors).
import { z } from "zod";

/** How codex may touch the machine. "bypass" is the original plugin's behaviour. */
export const SANDBOX_MODES = [
  "bypass",
  "read-only",
  "workspace-write",
  "danger-full-access",
] as const;
export type SandboxMode = (typeof SANDBOX_MODES)[number];

/** The model id that means "no --model flag": codex's default, the only option on ChatGPT logins. */
export const DEFAULT_MODEL_ID = "codex";

export const DEFAULT_TIMEOUTS = {
  turn_seconds: 3600,
  interrupt_grace_seconds: 5,
  terminate_grace_seconds: 2,
  version_probe_seconds: 10,
} as const;

// A week: anything longer is almost certainly a unit mistake (ms given as seconds).
const MAX_SECONDS = 7 * 24 * 3600;

const nonEmptyString = z.string().min(1, "must be a non-empty string");

const seconds = (min: "positive" | "non-negative") =>
  (min === "positive"
    ? z.number().positive("must be greater than 0")
    : z.number().nonnegative("must be 0 or more")
  )
    .finite("must be a finite number")
    .max(MAX_SECONDS, `must be at most ${MAX_SECONDS} seconds`);

const timeoutsSchema = z.strictObject({
  turn_seconds: seconds("positive").optional(),
  interrupt_grace_seconds: seconds("non-negative").optional(),
  terminate_grace_seconds: seconds("non-negative").optional(),
  version_probe_seconds: seconds("positive").optional(),
});

/** The raw host config as JSON; everything is optional, defaults live in load-config.ts. */
export const configSchema = z.strictObject({
  binary: nonEmptyString.optional(),
  extra_args: z.array(z.string()).optional(),
  supported_models: z
    .array(nonEmptyString)
    .min(1, "must list at least one model")
    .refine((models) => new Set(models).size === models.length, "must not repeat a model")
    .optional(),
  model_args: z
    .record(
      z.string(),
      nonEmptyString.refine(
        (value) => !value.startsWith("-"),
        "must be a model name, not a flag (it must not start with '-')",
      ),
    )
    .optional(),
  state_dir: nonEmptyString.optional(),
  codex_home: nonEmptyString.optional(),
  sandbox: z.enum(SANDBOX_MODES).optional(),
  // Leaves are checked and rendered by config-overrides.ts, which reports exact paths.
  config_overrides: z.record(z.string(), z.unknown()).optional(),
  timeouts: timeoutsSchema.optional(),
});

export type RawConfig = z.infer<typeof configSchema>;
