// Turn options through the built plugin and the real codex against the mock: images, the sandbox
// policy across resume, structured output, effort and model knobs, diffs and the worktree policy.
import { execFileSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { agentDirName } from "../../internal/core/agent-id.js";
import type { MockReply, MockScriptFunction } from "../../internal/mock-model/mock-reply.js";
import type { JsonObject, RecordedRequest } from "../../internal/mock-model/recorded-request.js";
import {
  applyPatchCommand,
  execCommand,
  respond,
  textReply,
} from "../../internal/mock-model/reply-builders.js";
import { inputItems, messageTexts } from "../../internal/mock-model/request-input.js";
import {
  ErrorClass,
  ToolEvent_Phase,
  TurnEnd_Outcome,
  type TurnEvent,
} from "../../src/gen/plexum/provider/v1/provider_pb.js";
import { codexShows } from "../helpers/codex-behaviour.js";
import { eventsOf, ON_APP_SERVER, PluginHarness } from "../helpers/plugin-harness.js";

// Two distinct 2×2 PNGs (red/green and blue/white).
const PNG_A = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFElEQVR4nGP4z8DAAMIM/////w8AH+4F+7C4l8kAAAAASUVORK5CYII=",
  "base64",
);
const PNG_B = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFElEQVR4nGNgYPj///9/EMHA8B8ANdgH+aqhwhIAAAAASUVORK5CYII=",
  "base64",
);

const SCHEMA = JSON.stringify({
  type: "object",
  properties: { answer: { type: "string" } },
  required: ["answer"],
  additionalProperties: false,
});

// Each prompt starts with "[tag]"; a tag's replies are used in order, one per model request.
const ROUTES: Record<string, MockReply[]> = {};
const used = new Map<string, number>();
const requestsByTag = new Map<string, RecordedRequest[]>();
const router: MockScriptFunction = (request) => {
  const prompt = messageTexts(request, "user").at(-1) ?? "";
  const tag = /\[([a-z0-9-]+)\]/.exec(prompt)?.[1] ?? "";
  const index = used.get(tag) ?? 0;
  used.set(tag, index + 1);
  requestsByTag.set(tag, [...(requestsByTag.get(tag) ?? []), request]);
  const reply = ROUTES[tag]?.[index];
  if (reply === undefined) throw new Error(`no reply ${index} for [${tag}]: ${prompt}`);
  return reply;
};

function route(tag: string, replies: MockReply[]): void {
  ROUTES[tag] = replies;
}

function requestsOf(tag: string): RecordedRequest[] {
  return requestsByTag.get(tag) ?? [];
}

let harness: PluginHarness;

beforeAll(async () => {
  harness = await PluginHarness.start({ script: router, config: { reasoning_effort: "minimal" } });
});

afterAll(async () => {
  await harness?.close();
});

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8" });
}

async function gitWorkspace(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(harness.root, name);
  await mkdir(dir);
  git(dir, "init", "-q");
  git(dir, "config", "user.email", "e2e@example.invalid");
  git(dir, "config", "user.name", "e2e");
  for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text);
  git(dir, "add", ".");
  git(dir, "commit", "-qm", "base");
  return dir;
}

/** The content parts of the last user message of a request. */
function lastUserContent(request: RecordedRequest): JsonObject[] {
  const users = inputItems(request).filter(
    (item) => item["type"] === "message" && item["role"] === "user",
  );
  const content = users.at(-1)?.["content"];
  return Array.isArray(content) ? (content as JsonObject[]) : [];
}

function commandOutputs(events: readonly TurnEvent[]): string[] {
  return eventsOf(events, "tool")
    .filter((tool) => tool.phase === ToolEvent_Phase.COMPLETED && tool.tool.case === "command")
    .map((tool) => (tool.tool.case === "command" ? tool.tool.value.aggregatedOutput : ""));
}

function turnMetadata(request: RecordedRequest | undefined): Record<string, unknown> {
  const header = request?.headers["x-codex-turn-metadata"];
  return JSON.parse(typeof header === "string" ? header : "{}") as Record<string, unknown>;
}

async function waitGone(path: string): Promise<boolean> {
  for (let i = 0; i < 50 && existsSync(path); i++) await sleep(100);
  return !existsSync(path);
}

describe("images", () => {
  it("sends path and byte images with --image on a new and a resumed turn, and checks them first", async () => {
    route("img", [textReply("two images seen"), textReply("one more seen")]);
    await mkdir(join(harness.workspace, "pics"), { recursive: true });
    await writeFile(join(harness.workspace, "pics", "shot,1.png"), PNG_A);

    const first = await harness.turn({
      agentId: "img",
      prompt: "[img] what is in these?",
      images: [
        { source: { case: "path", value: "pics/shot,1.png" } },
        { source: { case: "data", value: PNG_B }, mimeType: "image/png" },
      ],
    });
    expect(first.end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
    const content1 = lastUserContent(requestsOf("img")[0]!);
    const images1 = content1.filter((part) => part["type"] === "input_image");
    expect(images1.map((part) => part["image_url"])).toEqual([
      `data:image/png;base64,${PNG_A.toString("base64")}`,
      `data:image/png;base64,${PNG_B.toString("base64")}`,
    ]);
    // codex names each file it read; the bytes (and the comma path's copy) were private temp files.
    const named = content1
      .map((part) => /path="([^"]+)"/.exec(String(part["text"] ?? ""))?.[1])
      .filter((path): path is string => path !== undefined);
    expect(named).toHaveLength(2);
    for (const path of named) expect(path).toMatch(/\/plexum-turn-[^/]+\/image-\d\.png$/);
    expect(await waitGone(named[1]!)).toBe(true);

    const second = await harness.turn({
      agentId: "img",
      prompt: "[img] and this one?",
      images: [{ source: { case: "data", value: PNG_A } }],
    });
    expect(second.end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
    expect(eventsOf(second.events, "turnStarted")[0]?.resumed).toBe(true);
    const images2 = lastUserContent(requestsOf("img")[1]!).filter(
      (part) => part["type"] === "input_image",
    );
    expect(images2.map((part) => part["image_url"])).toEqual([
      `data:image/png;base64,${PNG_A.toString("base64")}`,
    ]);

    // Refused before codex runs: a path outside the workspace, and bytes that are no image.
    for (const [image, fragment] of [
      [{ source: { case: "path" as const, value: "/etc/hostname" } }, "not inside the workspace"],
      [
        { source: { case: "data" as const, value: Buffer.from("hello") } },
        "is not a PNG, JPEG, GIF or WebP image",
      ],
    ] as const) {
      const refused = await harness.turn({ agentId: "img", prompt: "[img] bad", images: [image] });
      expect(refused.end.outcome).toBe(TurnEnd_Outcome.FAILED);
      expect(refused.end.error?.code).toBe("IMAGE_INVALID");
      expect(refused.end.error?.class).toBe(ErrorClass.PRECONDITION);
      expect(refused.end.message).toContain(fragment);
    }
    expect(requestsOf("img")).toHaveLength(2);
  });
});

describe("sandbox policy", () => {
  it("holds read-only across a resume, then applies a per-turn workspace-write policy", async (ctx) => {
    const outside = join(harness.root, "outside");
    const allowed = join(harness.root, "allowed");
    const other = join(harness.root, "other");
    await Promise.all([mkdir(outside), mkdir(allowed), mkdir(other)]);
    route("sbx", [
      respond(execCommand(`touch ${outside}/t1; echo rc=$?`)),
      textReply("tried 1"),
      respond(execCommand(`touch ${outside}/t2; echo rc=$?`)),
      textReply("tried 2"),
      respond(
        execCommand(
          `touch ${allowed}/t3; echo allowed=$?; touch ${other}/t3; echo other=$?; ` +
            "echo net=${CODEX_SANDBOX_NETWORK_DISABLED:-on}",
        ),
      ),
      textReply("tried 3"),
    ]);

    const first = await harness.turn({
      agentId: "sbx",
      prompt: "[sbx] write outside",
      options: { sandbox: "read-only" },
    });
    const out1 = commandOutputs(first.events).join("\n");
    if (!existsSync(join(outside, "t1")) && !/Read-only file system|Permission denied/.test(out1)) {
      // codex could not set up its Linux sandbox here: say so instead of passing vacuously.
      ctx.skip(`codex's sandbox did not run the command in this environment: ${out1}`);
    }
    expect(first.end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
    expect(out1).toContain("Read-only file system");
    expect(out1).toContain("rc=1");
    expect(existsSync(join(outside, "t1"))).toBe(false);
    const policy1 = eventsOf(first.events, "turnStarted")[0]?.policy;
    expect(policy1).toMatchObject({
      sandbox: "read-only",
      approval: "never",
      writableDirs: [],
      networkAccess: false,
    });

    const second = await harness.turn({
      agentId: "sbx",
      prompt: "[sbx] again",
      options: { sandbox: "read-only" },
    });
    expect(eventsOf(second.events, "turnStarted")[0]?.resumed).toBe(true);
    expect(commandOutputs(second.events).join("\n")).toContain("Read-only file system");
    expect(existsSync(join(outside, "t2"))).toBe(false);
    const resumed = turnMetadata(requestsOf("sbx")[2]);
    // A warm app-server still has the thread loaded: codex does not resume it, it goes on.
    const warm = ON_APP_SERVER ? "new" : "cold_resume";
    expect(resumed["history_initialization"]).toBe(
      codexShows("turn_metadata_history_initialization") ? warm : undefined,
    );
    expect(resumed["sandbox_mode"]).toBe("read-only");

    // codex lets workspace-write commands write /tmp (where these dirs are) unless told not to.
    const third = await harness.turn({
      agentId: "sbx",
      prompt: "[sbx] with a writable dir",
      options: {
        sandbox: "workspace-write",
        writableDirs: [allowed],
        networkAccess: true,
        configOverrides: {
          "sandbox_workspace_write.exclude_slash_tmp": "true",
          "sandbox_workspace_write.exclude_tmpdir_env_var": "true",
        },
      },
    });
    expect(third.end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
    const out3 = commandOutputs(third.events).join("\n");
    expect(out3).toContain("allowed=0");
    expect(out3).toContain("other=1");
    expect(out3).toContain("net=on");
    expect(existsSync(join(allowed, "t3"))).toBe(true);
    expect(existsSync(join(other, "t3"))).toBe(false);
    expect(eventsOf(third.events, "turnStarted")[0]?.policy).toMatchObject({
      sandbox: "workspace-write",
      writableDirs: [allowed],
      networkAccess: true,
    });
    expect(turnMetadata(requestsOf("sbx")[4])["sandbox_mode"]).toBe("workspace-write");
  });
});

describe("structured output", () => {
  it("returns valid output on turn_end and fails invalid output with a typed error", async () => {
    route("schema", [
      textReply('{ "answer": "42" }'),
      textReply("forty-two, no JSON"),
      textReply('{"answer": 42}'),
    ]);
    const options = { outputSchemaJson: SCHEMA };
    const valid = await harness.turn({ agentId: "schema", prompt: "[schema] answer", options });
    expect(valid.end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
    expect(valid.end.structuredOutputJson).toBe('{"answer":"42"}');
    expect(valid.end.finalText).toBe('{ "answer": "42" }');
    const format = (requestsOf("schema")[0]?.body?.["text"] as JsonObject | undefined)?.["format"];
    expect(format).toEqual({
      type: "json_schema",
      strict: true,
      name: "codex_output_schema",
      schema: JSON.parse(SCHEMA),
    });

    const notJson = await harness.turn({ agentId: "schema", prompt: "[schema] again", options });
    expect(eventsOf(notJson.events, "turnStarted")[0]?.resumed).toBe(true);
    // codex 0.169.0 takes --output-schema on resume: the schema reached the resumed request.
    expect((requestsOf("schema")[1]?.body?.["text"] as JsonObject)["format"]).toEqual(format);
    expect(notJson.end.outcome).toBe(TurnEnd_Outcome.FAILED);
    expect(notJson.end.error?.code).toBe("STRUCTURED_OUTPUT_INVALID");
    expect(notJson.end.error?.retryable).toBe(true);
    expect(notJson.end.message).toContain("not JSON");
    expect(notJson.end.structuredOutputJson).toBe("");
    expect(notJson.end.finalText).toBe("forty-two, no JSON");
    expect(eventsOf(notJson.events, "error").map((error) => error.code)).toEqual([
      "STRUCTURED_OUTPUT_INVALID",
    ]);

    const wrongShape = await harness.turn({ agentId: "schema", prompt: "[schema] 3", options });
    expect(wrongShape.end.outcome).toBe(TurnEnd_Outcome.FAILED);
    expect(wrongShape.end.message).toContain("/answer must be string");

    const badSchema = await harness.turn({
      agentId: "schema",
      prompt: "[schema] bad schema",
      options: { outputSchemaJson: '{"type":"nonsense"}' },
    });
    expect(badSchema.end.error?.code).toBe("OUTPUT_SCHEMA_INVALID");
    expect(badSchema.end.error?.class).toBe(ErrorClass.PRECONDITION);
    expect(requestsOf("schema")).toHaveLength(3);
  });
});

describe("reasoning effort and model settings", () => {
  it("puts them in the request body, re-sends the configured effort on resume, and checks them", async () => {
    route("effort", [textReply("thought hard"), textReply("thought little")]);
    const first = await harness.turn({
      agentId: "effort",
      prompt: "[effort] think",
      options: {
        reasoningEffort: "high",
        modelSettings: { verbosity: "high", reasoning_summary: "detailed" },
      },
    });
    expect(first.end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
    const body1 = requestsOf("effort")[0]?.body;
    expect(body1?.["reasoning"]).toMatchObject({ effort: "high", summary: "detailed" });
    expect(body1?.["text"]).toMatchObject({ verbosity: "high" });

    const second = await harness.turn({ agentId: "effort", prompt: "[effort] again" });
    expect(eventsOf(second.events, "turnStarted")[0]?.resumed).toBe(true);
    // The config's reasoning_effort, not the first turn's: codex keeps neither across resume.
    expect(requestsOf("effort")[1]?.body?.["reasoning"]).toMatchObject({ effort: "minimal" });

    for (const options of [
      { reasoningEffort: "extreme" },
      { modelSettings: { verbosity: "loud" } },
      { modelSettings: { temperature: "0.2" } },
    ]) {
      const refused = await harness.turn({ agentId: "effort", prompt: "[effort] bad", options });
      expect(refused.end.error?.code).toBe("REQUEST_INVALID");
    }
    expect(requestsOf("effort")).toHaveLength(2);
  });
});

describe("diffs", () => {
  it("reports the file changes and the diff of a turn that edits two files", async () => {
    const workspace = await gitWorkspace("diff-ws", {
      "a.txt": "alpha\n",
      "b.txt": "beta\n",
      "c.txt": "gamma\n",
    });
    // Uncommitted work from before the turn: not the turn's.
    await writeFile(join(workspace, "c.txt"), "gamma, edited before\n");
    await writeFile(join(workspace, "before.txt"), "untracked before\n");
    const objectsBefore = git(workspace, "count-objects");
    route("diff", [
      respond(
        applyPatchCommand(
          [
            "*** Begin Patch",
            "*** Update File: a.txt",
            "@@",
            "-alpha",
            "+ALPHA",
            "*** Update File: b.txt",
            "@@",
            "-beta",
            "+BETA",
            "*** End Patch",
          ].join("\n"),
        ),
      ),
      textReply("patched"),
      respond(execCommand("echo new > fresh.txt")),
      textReply("added"),
    ]);

    const turn = await harness.turn({ agentId: "diff", prompt: "[diff] edit", workspace });
    expect(turn.end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
    const changes = eventsOf(turn.events, "tool").filter((tool) => tool.tool.case === "fileChange");
    expect(changes.map((tool) => tool.phase)).toEqual([
      ToolEvent_Phase.STARTED,
      ToolEvent_Phase.COMPLETED,
    ]);
    const completed = changes[1]?.tool;
    expect(completed?.case === "fileChange" ? completed.value.changes : []).toEqual([
      expect.objectContaining({ path: join(workspace, "a.txt"), kind: "update" }),
      expect.objectContaining({ path: join(workspace, "b.txt"), kind: "update" }),
    ]);

    const diff = turn.end.diff;
    expect(diff?.status).toBe("ok");
    expect(diff?.files).toEqual(["a.txt", "b.txt"]);
    expect(diff?.unified).toContain("--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-alpha\n+ALPHA\n");
    expect(diff?.unified).toContain("--- a/b.txt\n+++ b/b.txt\n@@ -1 +1 @@\n-beta\n+BETA\n");
    expect(diff?.unified).not.toContain("c.txt");
    expect(diff?.unified).not.toContain("before.txt");
    expect(diff?.bytes).toBe(BigInt(Buffer.byteLength(diff?.unified ?? "")));
    // The snapshots wrote no object into the repository.
    expect(git(workspace, "count-objects")).toBe(objectsBefore);

    // The next turn's diff holds only its own change: a new untracked file.
    const next = await harness.turn({ agentId: "diff", prompt: "[diff] add", workspace });
    expect(next.end.diff?.files).toEqual(["fresh.txt"]);
    expect(next.end.diff?.unified).toContain("new file mode");
  });

  it("says not_git for a workspace outside git", async () => {
    route("plain", [textReply("fine")]);
    const turn = await harness.turn({ agentId: "plain", prompt: "[plain] hi" });
    expect(turn.end.diff).toMatchObject({ status: "not_git", unified: "", files: [] });
  });
});

describe("worktree policy", () => {
  it("runs the agent's turns in its own worktree, kept across a resume", async () => {
    const workspace = await gitWorkspace("wt-ws", { "readme.txt": "base\n" });
    route("wt", [
      respond(execCommand("pwd; echo made > made.txt")),
      textReply("made"),
      respond(execCommand("pwd; cat made.txt")),
      textReply("read"),
    ]);
    const options = { worktree: { enabled: true } };
    const first = await harness.turn({ agentId: "wt", prompt: "[wt] make", workspace, options });
    expect(first.end.outcome).toBe(TurnEnd_Outcome.COMPLETED);
    const worktree = eventsOf(first.events, "turnStarted")[0]?.worktreePath ?? "";
    expect(worktree).toBe(
      realpathSync(join(harness.stateDir, "agents", agentDirName("wt"), "worktree")),
    );
    expect(commandOutputs(first.events)[0]?.split("\n")[0]).toBe(worktree);
    expect(await readFile(join(worktree, "made.txt"), "utf8")).toBe("made\n");
    expect(existsSync(join(workspace, "made.txt"))).toBe(false);
    expect(first.end.diff?.files).toEqual(["made.txt"]);
    expect(git(workspace, "worktree", "list")).toContain(worktree);

    const second = await harness.turn({ agentId: "wt", prompt: "[wt] read", workspace, options });
    expect(eventsOf(second.events, "turnStarted")[0]).toMatchObject({
      resumed: true,
      worktreePath: worktree,
    });
    expect(commandOutputs(second.events)[0]).toBe(`${worktree}\nmade\n`);
  });
});
