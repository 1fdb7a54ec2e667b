// The host config the daemon hands the plugin: JSON, snake_case, strict (unknown keys are errors).
import { z } from "zod";

import { SANDBOX_MODES } from "../core/canonical-event.js";
import { endpointSchema, openaiSchema } from "./endpoint-schema.js";
import { MAX_NAME_CHARS, MAX_TEXT_CHARS } from "./limits.js";
import { REASONING_EFFORTS } from "./model-knobs.js";

/** The model id that means "no --model flag": codex's default, the only option on ChatGPT logins. */
export const DEFAULT_MODEL_ID = "codex";

/** Default and ceiling of diff_max_bytes: turn_end must stay below gRPC's default 4 MiB message cap. */
export const DEFAULT_DIFF_MAX_BYTES = 1_048_576;
export const MAX_DIFF_MAX_BYTES = 3_145_728;

export const DEFAULT_TIMEOUTS = {
  turn_seconds: 3600,
  interrupt_grace_seconds: 5,
  terminate_grace_seconds: 2,
  version_probe_seconds: 10,
  // No progress from codex for this long fails the turn. Codex's own "Reconnecting..." loop never
  // gives up while the network is down, so this is what ends such a turn before turn_seconds.
  idle_seconds: 900,
  // Codex prints thread.started within a second; a minute or two of silence means it is stuck
  // before the turn began (a locked CODEX_HOME, an MCP server that never starts).
  first_event_seconds: 120,
  // A warm codex app-server nobody used for this long is stopped (backend "app-server").
  app_server_idle_seconds: 600,
} as const;

/** How turns drive codex: one `codex exec --json` per turn, or a long-lived `codex app-server`. */
export const BACKENDS = ["exec", "app-server"] as const;
export type BackendName = (typeof BACKENDS)[number];

/** What a turn does when its stored thread cannot be resumed. */
export const THREAD_LOST_POLICIES = ["new_thread", "fail"] as const;
export type ThreadLostPolicy = (typeof THREAD_LOST_POLICIES)[number];

// A week: anything longer is almost certainly a unit mistake (ms given as seconds).
const MAX_SECONDS = 7 * 24 * 3600;

// Paths: their lengths are checked before the schema (config-limits.ts).
const nonEmptyString = z.string().min(1, "must be a non-empty string");
const atMost = (max: number) => `must be at most ${max} characters`;
const name = nonEmptyString.max(MAX_NAME_CHARS, atMost(MAX_NAME_CHARS));
const text = z.string().max(MAX_TEXT_CHARS, atMost(MAX_TEXT_CHARS));

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
  // 0 disables the bound.
  idle_seconds: seconds("non-negative").optional(),
  first_event_seconds: seconds("non-negative").optional(),
  // 0 keeps an idle app-server until Shutdown.
  app_server_idle_seconds: seconds("non-negative").optional(),
});

/** Defaults of the host-tool bridge (mcp-host), in seconds. */
export const DEFAULT_MCP_HOST = {
  // codex's handshake with mcp-host: a Node start-up plus one MCP initialize.
  startup_timeout_seconds: 20,
  // How long the plugin waits for the host's tool_result before answering with a timeout error.
  host_timeout_seconds: 300,
  // codex's own bound on one tools/call; kept above the host timeout so the clearer error wins.
  tool_timeout_seconds: 330,
} as const;

const mcpHostSchema = z.strictObject({
  // The executable codex starts as `<command> mcp-host`; default: this plugin's own path.
  command: nonEmptyString.optional(),
  // Where the per-agent sockets live; default: <state_dir>/mcp when short enough.
  socket_dir: nonEmptyString.optional(),
  startup_timeout_seconds: seconds("positive").optional(),
  tool_timeout_seconds: seconds("positive").optional(),
  host_timeout_seconds: seconds("positive").optional(),
});

/** The raw host config as JSON; everything is optional, defaults live in load-config.ts. */
export const configSchema = z.strictObject({
  backend: z.enum(BACKENDS).optional(),
  binary: nonEmptyString.optional(),
  extra_args: z.array(text).optional(),
  supported_models: z
    .array(name)
    .min(1, "must list at least one model")
    .refine((models) => new Set(models).size === models.length, "must not repeat a model")
    .optional(),
  model_args: z
    .record(
      z.string().max(MAX_NAME_CHARS, atMost(MAX_NAME_CHARS)),
      name.refine(
        (value) => !value.startsWith("-"),
        "must be a model name, not a flag (it must not start with '-')",
      ),
    )
    .optional(),
  state_dir: nonEmptyString.optional(),
  codex_home: nonEmptyString.optional(),
  // Each agent gets its own CODEX_HOME and CODEX_SQLITE_HOME under state_dir; auth.json is linked
  // to the operator's (codex_home's) and config.toml copied from it when it changes.
  per_agent_codex_home: z.boolean().optional(),
  // A custom OpenAI-compatible endpoint (see endpoint-schema.ts); the key stays in the environment.
  endpoint: endpointSchema.optional(),
  // codex's built-in OpenAI provider in API-key mode.
  openai: openaiSchema.optional(),
  sandbox: z.enum(SANDBOX_MODES).optional(),
  // Extra writable directories and network access under "workspace-write" (turn-options.ts).
  writable_dirs: z.array(nonEmptyString).optional(),
  network_access: z.boolean().optional(),
  reasoning_effort: z.enum(REASONING_EFFORTS).optional(),
  // Each agent's turns run in a git worktree under state_dir (git/agent-worktree.ts).
  worktree: z
    .strictObject({
      enabled: z.boolean().optional(),
      base_ref: nonEmptyString.max(MAX_TEXT_CHARS, atMost(MAX_TEXT_CHARS)).optional(),
    })
    .optional(),
  // Bound of the unified diff attached to turn_end; 0 collects no diff.
  diff_max_bytes: z
    .number()
    .int("must be an integer")
    .nonnegative("must be 0 or more")
    .max(
      MAX_DIFF_MAX_BYTES,
      `must be at most ${MAX_DIFF_MAX_BYTES} (gRPC's default message cap is 4 MiB)`,
    )
    .optional(),
  // Leaves are checked and rendered by config-overrides.ts, which reports exact paths.
  config_overrides: z.record(z.string(), z.unknown()).optional(),
  timeouts: timeoutsSchema.optional(),
  thread_lost_policy: z.enum(THREAD_LOST_POLICIES).optional(),
  mcp_host: mcpHostSchema.optional(),
});

export type RawConfig = z.infer<typeof configSchema>;
