// The `codex app-server` backend: turns run on a warm, pooled app-server (app-server-pool.ts)
// instead of one `codex exec` per turn, and stream text, reasoning and command output as deltas.
// What exec gets as per-run flags splits in two: per-turn settings go on turn/start
// (turn-params.ts), as does the host-tool bridge (per thread); the rest (config overrides, the
// model provider) goes to the server process as `-c`, and is part of the server's key, so a turn
// never runs on a server started with other settings.
import { buildChildEnv } from "../codex/child-env.js";
import { CODEX_FEATURES } from "../codex/codex-capabilities.js";
import { turnError } from "../core/turn-error.js";
import type { ProcessLedger } from "../proc/process-ledger.js";
import {
  type BackendRun,
  type CodexBackend,
  type CodexRun,
  NOT_STARTED_EXIT,
} from "../turn/codex-backend.js";
import type { AppServerPool, ServerSpec } from "./app-server-pool.js";
import { AppServerTurn } from "./app-server-turn.js";

/** The key variable `codex exec` reads and app-server ignores (verified with 0.169.0). */
const EXEC_ONLY_KEY_VARIABLE = "CODEX_API_KEY";

/** Events a turn holds before the server's output stops being read. */
export const DEFAULT_QUEUE_LIMIT = 256;

export interface AppServerBackendOptions {
  /** The plugin's servers (owned by the app state, shared across configs). */
  pool: AppServerPool;
  /** The environment codex inherits. */
  env: NodeJS.ProcessEnv;
  /** turn/interrupt → killing the turn's commands. */
  interruptGraceMs: number;
  /** Killing the commands → restarting the server. */
  terminateGraceMs: number;
  /** An idle server stops after this long; 0 keeps it. */
  idleMs: number;
  /** Records servers in the state dir, for the boot reaper. */
  ledger?: ProcessLedger | undefined;
  queueLimit?: number;
}

/** Runs turns on `codex app-server`. */
export class AppServerBackend implements CodexBackend {
  readonly name = "app-server";
  readonly keepsThreadsLoaded = true;
  readonly #options: AppServerBackendOptions;

  constructor(options: AppServerBackendOptions) {
    this.#options = options;
  }

  start(run: CodexRun, signal: AbortSignal): BackendRun {
    const unsupported = unsupportedReason(run);
    if (unsupported !== undefined) {
      const refusal = turnError("BACKEND_UNSUPPORTED", unsupported);
      return {
        batches: (async function* () {})(),
        exit: Promise.resolve({ ...NOT_STARTED_EXIT, refusal }),
      };
    }
    const turn = new AppServerTurn(run, signal, {
      pool: this.#options.pool,
      spec: serverSpecOf(run, this.#options.env),
      serverMeta: { ledger: this.#options.ledger, idleMs: this.#options.idleMs },
      interruptGraceMs: this.#options.interruptGraceMs,
      terminateGraceMs: this.#options.terminateGraceMs,
      queueLimit: this.#options.queueLimit ?? DEFAULT_QUEUE_LIMIT,
    });
    return { batches: turn.batches(), exit: turn.exit };
  }
}

/** Why this backend cannot run `run`; undefined when it can. */
function unsupportedReason(run: CodexRun): string | undefined {
  if (!run.codex.features.includes("app_server_turns")) {
    const info = CODEX_FEATURES.app_server_turns;
    return (
      `the app-server backend needs codex ${info.since} or newer (${info.lastWithout} was tried ` +
      'and loses threads between servers); upgrade codex or set backend "exec"'
    );
  }
  if (run.env.set[EXEC_ONLY_KEY_VARIABLE] !== undefined) {
    // codex reads CODEX_API_KEY in exec only; app-server would run without the key.
    return (
      "the app-server backend cannot use an API key from openai.api_key_env: codex reads " +
      `${EXEC_ONLY_KEY_VARIABLE} only in \`codex exec\`. Log codex in (\`codex login ` +
      '--with-api-key`), use a custom `endpoint`, or set backend "exec"'
    );
  }
  return undefined;
}

/** What a run's server is started with: everything that is not a per-turn setting. */
export function serverSpecOf(run: CodexRun, env: NodeJS.ProcessEnv): ServerSpec {
  return {
    codexPath: run.codex.path,
    env: buildChildEnv(env, {
      codexHome: run.codexHome,
      sqliteHome: run.sqliteHome,
      helperPathDir: run.codex.helperPathDir,
      set: run.env.set,
      unset: run.env.unset,
    }),
    // Not the host-tool bridge: it differs per agent, so it goes per thread (turn-params.ts) and
    // the agents of one CODEX_HOME share a server.
    configOverrides: run.configOverrides,
    // Not a workspace: the server outlives the turn that started it, and serves other workspaces
    // (each turn names its own cwd).
    cwd: run.codexHome ?? process.cwd(),
  };
}
