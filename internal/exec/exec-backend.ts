// The `codex exec --json` backend: one codex process per run, `exec [resume <id>] -` in the turn's
// working directory, the prompt on stdin (closed at once), and its JSONL stdout mapped to events.
import { performance } from "node:perf_hooks";

import { buildChildEnv } from "../codex/child-env.js";
import { LineSplitter } from "../jsonl/line-splitter.js";
import type { ProcessLedger } from "../proc/process-ledger.js";
import type { ProcessRegistry } from "../proc/process-registry.js";
import type { ProcessScanner } from "../proc/process-scanner.js";
import { type ProcessResult, type SupervisedProcess, superviseProcess } from "../proc/supervise.js";
import type {
  BackendBatch,
  BackendEvent,
  BackendExit,
  BackendRun,
  CodexBackend,
  CodexRun,
} from "../turn/codex-backend.js";
import { CodexEventMapper } from "./event-mapper.js";
import { buildExecArgs } from "./exec-args.js";

export interface ExecBackendOptions {
  /** The environment codex inherits. */
  env: NodeJS.ProcessEnv;
  /** Operator flags from config `extra_args`. */
  extraArgs: readonly string[];
  /** SIGINT → SIGTERM to the group. */
  interruptGraceMs: number;
  /** SIGTERM → SIGKILL to the group. */
  terminateGraceMs: number;
  /** Every live process, for shutdown. */
  processes: ProcessRegistry;
  /** The shared /proc scan that finds what codex starts. */
  scanner: ProcessScanner;
  /** Records codex processes in the state dir, for the boot reaper. */
  ledger?: ProcessLedger | undefined;
}

/** Runs codex as `codex exec --json`. */
export class ExecBackend implements CodexBackend {
  readonly name = "exec";
  readonly keepsThreadsLoaded = false;
  readonly #options: ExecBackendOptions;

  constructor(options: ExecBackendOptions) {
    this.#options = options;
  }

  start(run: CodexRun, signal: AbortSignal): BackendRun {
    const options = this.#options;
    const args = buildExecArgs({
      sandbox: run.sandbox,
      model: run.cliModel,
      workspace: run.cwd,
      configOverrides: run.configOverrides,
      mcpServers: run.mcpServers,
      extraArgs: options.extraArgs,
      resumeThreadId: run.resumeThreadId,
      // Re-asserted on every turn, resumed or not (codex does not restore them on resume).
      writableDirs: run.writableDirs,
      networkAccess: run.networkAccess,
      images: run.images,
      outputSchemaPath: run.outputSchemaPath,
    });
    const child = superviseProcess({
      file: run.codex.path,
      args,
      cwd: run.cwd,
      env: buildChildEnv(options.env, {
        codexHome: run.codexHome,
        sqliteHome: run.sqliteHome,
        helperPathDir: run.codex.helperPathDir,
        set: run.env.set,
        unset: run.env.unset,
      }),
      input: run.prompt,
      interruptGraceMs: options.interruptGraceMs,
      terminateGraceMs: options.terminateGraceMs,
      logger: run.logger,
      processes: options.processes,
      scanner: options.scanner,
      accounting: options.ledger?.track({ agentId: run.agentId }),
    });
    const mapper = new CodexEventMapper();
    const stop = (): void => {
      child.terminate(reasonOf(signal.reason));
    };
    signal.addEventListener("abort", stop, { once: true });
    if (signal.aborted) stop();
    const exit = child.result.then((result) => {
      signal.removeEventListener("abort", stop);
      return toExit(result, mapper);
    });
    return { batches: readBatches(child, mapper, run), exit };
  }
}

/**
 * Codex's stdout, one batch per read. Pull-based: while the consumer has not asked for the next
 * batch, no more is read, the pipe fills and codex blocks on write instead of the plugin buffering
 * without bound. Stopping the iteration early stops codex.
 */
async function* readBatches(
  child: SupervisedProcess,
  mapper: CodexEventMapper,
  run: CodexRun,
): AsyncGenerator<BackendBatch, void, undefined> {
  const splitter = new LineSplitter();
  let finished = false;
  try {
    try {
      for await (const chunk of child.stdout) {
        const events = await mapLines(splitter.push(chunk as Buffer), mapper, child);
        if (events.length > 0) {
          yield { events, caughtUp: child.stdout.readableLength === 0 };
        }
      }
    } catch (error) {
      run.logger.warn({ err: error }, "reading codex stdout failed");
    }
    const rest = await mapLines(splitter.end(), mapper, child);
    if (rest.length > 0) yield { events: rest, caughtUp: true };
    finished = true;
  } finally {
    // The consumer stopped early: the process must not outlive the turn.
    if (!finished) child.terminate("the consumer stopped reading");
  }
}

async function mapLines(
  lines: Iterable<Parameters<CodexEventMapper["mapLine"]>[0]>,
  mapper: CodexEventMapper,
  child: SupervisedProcess,
): Promise<BackendEvent[]> {
  const events: BackendEvent[] = [];
  for (const line of lines) {
    for (const event of mapper.mapLine(line)) {
      if (event.kind === "turn_completed" || event.kind === "turn_failed") {
        // codex exits right after its terminal event; note what it leaves running while it is
        // still the parent (best effort, on top of the periodic scan).
        await child.recordDescendants();
      }
      events.push(event);
    }
  }
  return events;
}

function toExit(result: ProcessResult, mapper: CodexEventMapper): BackendExit {
  return {
    exitCode: result.exitCode,
    signal: result.signal,
    stderrTail: result.stderrTail,
    spawnError: result.spawnError,
    durationMs: result.durationMs,
    // codex prints fatal errors that happen outside a turn ("Error: thread/resume: … no rollout
    // found …", "Error finding codex home: …") only on stderr.
    fatalMessage: mapper.lastFatalMessage ?? lastErrorLine(result.stderrTail),
    retryMessage: mapper.lastRetryMessage,
  };
}

function lastErrorLine(stderr: string): string | undefined {
  const lines = stderr.split("\n").filter((line) => /^Error\b/.test(line));
  const last = lines.at(-1)?.trim();
  if (last === undefined) return undefined;
  return last.startsWith("Error: ") ? last.slice("Error: ".length) : last;
}

function reasonOf(reason: unknown): string {
  const message = (reason as { message?: unknown } | null | undefined)?.message;
  return typeof message === "string" && message !== "" ? message : String(reason);
}

/** Milliseconds since the run started, for logs. */
export function sinceMs(start: number): number {
  return Math.round(performance.now() - start);
}
