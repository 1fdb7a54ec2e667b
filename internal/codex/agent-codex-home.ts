// Per-agent CODEX_HOME (config `per_agent_codex_home`): every agent runs codex with its own
// CODEX_HOME and CODEX_SQLITE_HOME under state_dir, so parallel agents stop sharing one set of
// SQLite databases, thread locks and session directories. The operator's login and settings come
// from the operator's CODEX_HOME (config `codex_home`, else $CODEX_HOME, else ~/.codex):
//
// - auth.json is a SYMLINK to the operator's file, never a copy. ChatGPT refresh tokens are single
//   use, so a copy dies at the first refresh done elsewhere. codex 0.169.0 resolves the link when it
//   writes: it takes `<target>.lock`, writes a temp file next to the target and renames it over the
//   target (observed with strace), so the link survives a refresh and every agent sees the new
//   tokens. auth.lock, which codex opens with O_CREAT and follows links, is linked too, so refreshes
//   from different agents serialise on the operator's lock.
// - config.toml is COPIED, and copied again whenever the operator's file changes. A symlink would
//   let codex write through it into the operator's file: `codex mcp add` run with the agent's
//   CODEX_HOME was observed to append its server to the link's target. The copy keeps the original
//   untouched; an edit codex makes in the copy lasts until the operator's file changes next.
// - AGENTS.md, AGENTS.override.md and .env (which codex loads into its environment) are linked:
//   codex only reads them.
import { createHash } from "node:crypto";
import { lstat, mkdir, readFile, readlink, rm, symlink } from "node:fs/promises";
import { join } from "node:path";

import writeFileAtomic from "write-file-atomic";

import type { ResolvedConfig } from "../config/load-config.js";
import { agentDirName } from "../core/agent-id.js";
import { AppError } from "../core/app-error.js";
import { effectiveCodexHome } from "./codex-home.js";

/** Directory name of the per-agent CODEX_HOME inside the agent's state directory. */
export const AGENT_CODEX_HOME_DIR = "codex-home";
/** Records the sha256 of the operator config.toml last copied in. */
export const CONFIG_SOURCE_MARKER = ".plexum-config-source";

/** Linked from the operator's home; codex reads them, and writes auth.json through the link. */
export const LINKED_FILES = ["auth.json", "auth.lock", "AGENTS.md", "AGENTS.override.md", ".env"];
/** Linked even when the operator's file does not exist yet (a later `codex login` creates it). */
const ALWAYS_LINKED = new Set(["auth.json", "auth.lock"]);

/** The CODEX_HOME codex runs with for `agentId` (no I/O). */
export function codexHomeForAgent(
  config: Pick<ResolvedConfig, "codexHome" | "perAgentCodexHome" | "stateDir">,
  agentId: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (!config.perAgentCodexHome) return effectiveCodexHome(config.codexHome, env);
  return join(config.stateDir, "agents", agentDirName(agentId), AGENT_CODEX_HOME_DIR);
}

/** What one preparation did, for logs and tests. */
export interface PreparedHome {
  codexHome: string;
  /** The operator's CODEX_HOME the links point into. */
  operatorHome: string;
  /** Links created or repaired now. */
  linked: string[];
  /** True when config.toml was (re)copied from the operator's file now. */
  configCopied: boolean;
  /** True when the operator's config.toml is gone and the copy was removed now. */
  configRemoved: boolean;
  /** Regular files that stood where a link belongs (a copied auth.json) and were replaced. */
  replacedCopies: string[];
}

/**
 * Creates or refreshes the agent's CODEX_HOME. Idempotent and cheap when nothing changed; must not
 * run while a codex of the same agent runs (the runner calls it under the agent's turn claim).
 */
export async function prepareAgentCodexHome(
  config: Pick<ResolvedConfig, "codexHome" | "perAgentCodexHome" | "stateDir">,
  agentId: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<PreparedHome> {
  const codexHome = codexHomeForAgent({ ...config, perAgentCodexHome: true }, agentId, env);
  const operatorHome = effectiveCodexHome(config.codexHome, env);
  const prepared: PreparedHome = {
    codexHome,
    operatorHome,
    linked: [],
    configCopied: false,
    configRemoved: false,
    replacedCopies: [],
  };
  try {
    await mkdir(codexHome, { recursive: true, mode: 0o700 });
    for (const name of LINKED_FILES) await linkOne(operatorHome, codexHome, name, prepared);
    await syncConfig(operatorHome, codexHome, prepared);
  } catch (error) {
    throw new AppError(
      "NOT_CONFIGURED",
      `could not prepare the per-agent CODEX_HOME ${codexHome}: ${errorText(error)}`,
      { cause: error },
    );
  }
  return prepared;
}

async function linkOne(
  operatorHome: string,
  codexHome: string,
  name: string,
  prepared: PreparedHome,
): Promise<void> {
  const target = join(operatorHome, name);
  const path = join(codexHome, name);
  const existing = await lstatOrUndefined(path);
  if (existing?.isSymbolicLink() === true && (await readlink(path)) === target) return;
  if (!ALWAYS_LINKED.has(name) && (await lstatOrUndefined(target)) === undefined) {
    // Nothing to layer in; drop a link left from when the operator had the file.
    if (existing?.isSymbolicLink() === true) await rm(path, { force: true });
    return;
  }
  if (existing !== undefined) {
    if (existing.isDirectory()) throw new Error(`${path} is a directory; remove it`);
    if (!existing.isSymbolicLink()) prepared.replacedCopies.push(name);
    await rm(path, { force: true });
  }
  await symlink(target, path);
  prepared.linked.push(name);
}

async function syncConfig(
  operatorHome: string,
  codexHome: string,
  prepared: PreparedHome,
): Promise<void> {
  const source = join(operatorHome, "config.toml");
  const copy = join(codexHome, "config.toml");
  const marker = join(codexHome, CONFIG_SOURCE_MARKER);
  const content = await readOrUndefined(source);
  const lastCopied = (await readOrUndefined(marker))?.toString("utf8").trim();
  if (content === undefined) {
    if (lastCopied !== undefined) {
      await rm(copy, { force: true });
      await rm(marker, { force: true });
      prepared.configRemoved = true;
    }
    return;
  }
  const digest = createHash("sha256").update(content).digest("hex");
  const copyStat = await lstatOrUndefined(copy);
  if (digest === lastCopied && copyStat?.isFile() === true) return;
  // A link here (from an older setup) would make the write below land in the operator's file.
  if (copyStat?.isSymbolicLink() === true) await rm(copy, { force: true });
  await writeFileAtomic(copy, content, { mode: 0o600, fsync: true });
  await writeFileAtomic(marker, `${digest}\n`, { mode: 0o600, fsync: true });
  prepared.configCopied = true;
}

async function lstatOrUndefined(path: string) {
  try {
    return await lstat(path);
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return undefined;
    throw error;
  }
}

async function readOrUndefined(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return undefined;
    throw error;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
