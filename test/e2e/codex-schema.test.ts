// The shape of what the codex under test produces for one fixed scripted session, against the
// snapshot recorded for that version (test/e2e/codex-schema/<version>.txt; for a version without
// one, the newest older snapshot, so a new codex shows up as a diff against the last one verified).
// The session: a new turn with a shell call and an MCP tool call, a resumed turn, a failing turn.
// Only types and key sets are recorded, never values. Record or update a version's snapshot with
//   CODEX_SCHEMA_UPDATE=1 CODEX_BIN=<codex> npx vitest run --project e2e test/e2e/codex-schema.test.ts
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { compareVersions, TESTED_CODEX_VERSIONS } from "../../internal/codex/codex-version.js";
import { mcpServerOverrides } from "../../internal/mcp/mcp-server-overrides.js";
import { toConfigArgs } from "../../internal/mock-model/config-override-args.js";
import type { MockReply } from "../../internal/mock-model/mock-reply.js";
import type { RecordedRequest } from "../../internal/mock-model/recorded-request.js";
import {
  execCommand,
  functionCall,
  respond,
  textReply,
  unauthorized,
} from "../../internal/mock-model/reply-builders.js";
import {
  lastInputItem,
  lastUserPrompt,
  toolOutputFor,
} from "../../internal/mock-model/request-input.js";
import {
  type ResponsesServer,
  startResponsesServer,
} from "../../internal/mock-model/responses-server.js";
import { codexUnderTest } from "../helpers/codex-bin.js";
import { execEventShapes, keySet, outputShape, rolloutShapes } from "../helpers/codex-schema.js";
import { type CodexExecRun, runCodexExec } from "../helpers/run-codex-exec.js";
import { createTempDirs } from "../helpers/temp-dirs.js";

const codex = codexUnderTest();
const SNAPSHOTS = resolve("test/e2e/codex-schema");
const ECHO_SERVER = resolve("test/fixtures/mcp/echo-server.mjs");
// An unknown model slug: codex offers MCP tools as a namespace the model can call directly.
const MODEL = "plexum-mock";

const PROMPTS = { first: "schema: new turn", second: "schema: resumed", third: "schema: fails" };
const SHELL_CALL = "call_schema_shell";
const MCP_CALL = "call_schema_mcp";

const tempDirs = createTempDirs();
const servers: ResponsesServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await tempDirs.removeAll();
});

// The first turn calls the shell, then the MCP tool, then answers; the others answer or fail.
function script(request: RecordedRequest): MockReply {
  const prompt = lastUserPrompt(request);
  if (prompt === PROMPTS.third) return unauthorized();
  if (prompt !== PROMPTS.first) return textReply("resumed");
  const last = lastInputItem(request);
  if (last?.["type"] !== "function_call_output") {
    return respond(execCommand("printf schema", { callId: SHELL_CALL }));
  }
  if (last["call_id"] === SHELL_CALL) {
    return respond(
      functionCall({
        namespace: "mcp__echo",
        name: "echo",
        args: { text: "hi" },
        callId: MCP_CALL,
      }),
    );
  }
  return textReply("done");
}

async function rolloutLines(codexHome: string): Promise<string[]> {
  const lines: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.startsWith("rollout-")) {
        lines.push(...(await readFile(path, "utf8")).split("\n"));
      }
    }
  };
  await walk(join(codexHome, "sessions"));
  return lines;
}

/** The snapshot for `version`: its own, else the newest older one, else the oldest. */
async function snapshotFor(version: string): Promise<string | undefined> {
  const versions = (await readdir(SNAPSHOTS).catch(() => []))
    .filter((name) => name.endsWith(".txt"))
    .map((name) => name.slice(0, -".txt".length))
    .sort(compareVersions);
  const chosen = versions.filter((v) => compareVersions(v, version) <= 0).at(-1) ?? versions[0];
  return chosen === undefined ? undefined : join(SNAPSHOTS, `${chosen}.txt`);
}

function section(title: string, lines: readonly string[]): string {
  return `## ${title}\n${lines.map((line) => `${line}\n`).join("")}`;
}

describe("codex schema snapshots", () => {
  it("exist for every tested codex release", () => {
    for (const version of TESTED_CODEX_VERSIONS) {
      expect(existsSync(join(SNAPSHOTS, `${version}.txt`)), version).toBe(true);
    }
  });
});

describe.skipIf(codex === undefined)("codex's output schema", () => {
  it("matches the snapshot of its version for a fixed scripted session", async () => {
    const server = await startResponsesServer({ script });
    servers.push(server);
    const codexHome = await tempDirs.make("schema-home");
    const cwd = await tempDirs.make("schema-workspace");
    const mcpLog = join(codexHome, "echo-mcp.jsonl");
    const extraArgs = [
      "-m",
      MODEL,
      ...toConfigArgs(
        mcpServerOverrides({
          name: "echo",
          command: process.execPath,
          args: [ECHO_SERVER],
          env: { ECHO_MCP_LOG: mcpLog },
          startupTimeoutSec: 30,
          toolTimeoutSec: 30,
        }),
      ),
    ];
    const run = (prompt: string, resumeThreadId?: string) =>
      runCodexExec({
        binary: codex!.path,
        baseUrl: server.url,
        codexHome,
        cwd,
        prompt,
        extraArgs,
        ...(resumeThreadId === undefined ? {} : { resumeThreadId }),
      });
    const detail = (r: CodexExecRun) => `stderr:\n${r.stderr.slice(-3000)}`;

    const first = await run(PROMPTS.first);
    expect(first.exitCode, detail(first)).toBe(0);
    const second = await run(PROMPTS.second, first.threadId);
    expect(second.exitCode, detail(second)).toBe(0);
    const third = await run(PROMPTS.third, first.threadId);
    expect(third.exitCode, detail(third)).toBe(1);

    const requests = server.requests.filter((r) => r.path === "/v1/responses");
    const shellOutput = requests.map((r) => toolOutputFor(r, SHELL_CALL)).find(Boolean);
    const mcpOutput = requests.map((r) => toolOutputFor(r, MCP_CALL)).find(Boolean);
    const mcpParams = existsSync(mcpLog)
      ? (await readFile(mcpLog, "utf8"))
          .split("\n")
          .filter((line) => line !== "")
          .map((line) => JSON.parse(line) as Record<string, unknown>)
      : [];

    const actual = [
      "# The shape of one scripted codex session (test/e2e/codex-schema.test.ts): types and key\n" +
        "# sets only. Turn 1 runs a shell call and an MCP tool call, turn 2 resumes, turn 3 fails\n" +
        "# (HTTP 401).\n",
      section("exec --json, new turn", execEventShapes(first.events)),
      section("exec --json, resumed turn", execEventShapes(second.events)),
      section("exec --json, failing turn", execEventShapes(third.events)),
      section(
        "MCP tools/call params the server received",
        mcpParams.map((params) => `params ${keySet(params)} _meta ${keySet(params["_meta"])}`),
      ),
      section("tool outputs as the model received them", [
        `shell ${shellOutput?.type ?? "(none)"} ${outputShape(shellOutput?.output)}`,
        `mcp ${mcpOutput?.type ?? "(none)"} ${outputShape(mcpOutput?.output)}`,
      ]),
      section("rollout records (distinct shapes)", rolloutShapes(await rolloutLines(codexHome))),
    ].join("\n");

    const own = join(SNAPSHOTS, `${codex!.version}.txt`);
    if (process.env["CODEX_SCHEMA_UPDATE"] === "1") {
      await writeFile(own, actual);
      return;
    }
    const snapshot = await snapshotFor(codex!.version);
    expect(
      snapshot,
      `no schema snapshot in ${SNAPSHOTS}: record one with CODEX_SCHEMA_UPDATE=1`,
    ).toBeDefined();
    const expected = await readFile(snapshot!, "utf8");
    expect(
      actual,
      `codex ${codex!.version} against ${snapshot}; if the change is understood, record it ` +
        `with CODEX_SCHEMA_UPDATE=1`,
    ).toBe(expected);
  });
});
