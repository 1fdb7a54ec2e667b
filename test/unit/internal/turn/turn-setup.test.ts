import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { ProcessRegistry } from "../../../../internal/proc/process-registry.js";
import { compileOutputSchema } from "../../../../internal/turn/output-schema.js";
import type { TurnPlan } from "../../../../internal/turn/turn-plan.js";
import {
  finishTurnDiff,
  prepareTurnSetup,
  sweepStaleScratch,
} from "../../../../internal/turn/turn-setup.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

const processes = new ProcessRegistry();

const dirs = createTempDirs();
afterEach(() => dirs.removeAll());

const GIF = new Uint8Array([...Buffer.from("GIF89a"), 1, 0, 1, 0]);

function plan(workspace: string, fields: Partial<TurnPlan> = {}): TurnPlan {
  return {
    agentId: "agent-1",
    workspace,
    images: [],
    outputSchema: undefined,
    worktree: { enabled: false, baseRef: "" },
    diffMaxBytes: 1000,
    ...fields,
  } as TurnPlan;
}

describe("prepareTurnSetup", () => {
  it("stages bytes and the schema in a private temp dir that cleanup removes", async () => {
    const workspace = await dirs.make("ws");
    const schema = compileOutputSchema('{"type":"object"}');
    if (!schema.ok) throw new Error(schema.message);
    const result = await prepareTurnSetup(
      plan(workspace, {
        images: [{ source: "data", data: GIF, mimeType: "image/gif" }],
        outputSchema: schema.schema,
      }),
      await dirs.make("state"),
      processes,
    );
    if (!result.ok) throw new Error(result.error.message);
    const { setup } = result;
    expect(setup.cwd).toBe(workspace);
    expect(setup.worktreePath).toBe("");
    const [image] = setup.imagePaths;
    expect(image).toMatch(new RegExp(`/plexum-turn-${process.pid}-[^/]+/image-1\\.gif$`));
    expect((await stat(dirname(image!))).mode & 0o777).toBe(0o700);
    expect(await readFile(setup.outputSchemaPath!, "utf8")).toBe('{"type":"object"}');
    // A workspace outside git: the diff is known to be not_git from the start.
    expect(await finishTurnDiff(setup, 1000)).toEqual({
      diff: { status: "not_git", unified: "", files: [], bytes: 0 },
    });

    await setup.cleanup();
    expect(existsSync(dirname(image!))).toBe(false);
    await setup.cleanup();
  });

  it("collects no diff with diff_max_bytes 0", async () => {
    const result = await prepareTurnSetup(
      plan(await dirs.make("ws"), { diffMaxBytes: 0 }),
      await dirs.make("state"),
      processes,
    );
    if (!result.ok) throw new Error(result.error.message);
    expect(result.setup.diff).toBeUndefined();
    expect(await finishTurnDiff(result.setup, 0)).toBeUndefined();
    await result.setup.cleanup();
  });

  it("fails with WORKTREE_FAILED when the worktree policy meets a non-git workspace", async () => {
    const result = await prepareTurnSetup(
      plan(await dirs.make("ws"), { worktree: { enabled: true, baseRef: "" } }),
      await dirs.make("state"),
      processes,
    );
    expect(result).toMatchObject({
      ok: false,
      error: { class: "precondition", code: "WORKTREE_FAILED", retryable: false },
    });
  });
});

describe("sweepStaleScratch", () => {
  it("removes the scratch dirs of dead plugin processes only", async () => {
    const tmp = await dirs.make("tmp");
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid;
    const names = {
      dead: `plexum-turn-${dead}-aaaaaa`,
      self: `plexum-turn-${process.pid}-bbbbbb`,
      init: "plexum-turn-1-cccccc",
      other: "plexum-turnip",
    };
    for (const name of Object.values(names))
      await mkdir(join(tmp, name, "diff"), { recursive: true });
    expect(await sweepStaleScratch(tmp)).toEqual([join(tmp, names.dead)]);
    expect(existsSync(join(tmp, names.dead))).toBe(false);
    for (const name of [names.self, names.init, names.other]) {
      expect(existsSync(join(tmp, name))).toBe(true);
    }
  });
});
