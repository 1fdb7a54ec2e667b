import { afterEach, describe, expect, it } from "vitest";

import { resolveSandboxPolicy } from "../../../../internal/codex/sandbox-policy.js";
import { parseConfig } from "../../../../internal/config/load-config.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

const dirs = createTempDirs();
afterEach(() => dirs.removeAll());

function config(raw: Record<string, unknown>) {
  return parseConfig(raw, { env: {}, homeDir: "/home/op" }).config;
}

describe("resolveSandboxPolicy", () => {
  it("reports network access as each mode really has it, approval always never", async () => {
    const expected = {
      bypass: true,
      "read-only": false,
      "danger-full-access": true,
      "workspace-write": false,
    } as const;
    for (const [sandbox, networkAccess] of Object.entries(expected)) {
      expect(await resolveSandboxPolicy(config({}), { sandbox })).toEqual({
        ok: true,
        policy: { sandbox, approval: "never", writableDirs: [], networkAccess },
      });
    }
  });

  it("uses the configured dirs and network for workspace-write; a turn's dirs replace them", async () => {
    const [a, b] = [await dirs.make("a"), await dirs.make("b")];
    const configured = config({
      sandbox: "workspace-write",
      writable_dirs: [a, `${a}/`],
      network_access: true,
    });
    expect(await resolveSandboxPolicy(configured, {})).toMatchObject({
      ok: true,
      policy: { sandbox: "workspace-write", writableDirs: [a], networkAccess: true },
    });
    expect(
      await resolveSandboxPolicy(configured, { writableDirs: [b], networkAccess: false }),
    ).toMatchObject({ ok: true, policy: { writableDirs: [b], networkAccess: false } });
    // The configured workspace-write settings are defaults, not errors, for other sandboxes.
    expect(await resolveSandboxPolicy(configured, { sandbox: "read-only" })).toMatchObject({
      ok: true,
      policy: { sandbox: "read-only", writableDirs: [], networkAccess: false },
    });
  });

  it("refuses a turn's dirs or network setting outside workspace-write, bad dirs and modes", async () => {
    const a = await dirs.make("a");
    const cases: [Parameters<typeof resolveSandboxPolicy>[1], string][] = [
      [{ sandbox: "read-only", writableDirs: [a] }, "apply to the workspace-write sandbox only"],
      [{ sandbox: "bypass", networkAccess: true }, "this turn's sandbox is bypass"],
      [{ sandbox: "workspace-write", writableDirs: ["rel"] }, "is not an absolute path"],
      [{ sandbox: "workspace-write", writableDirs: [`${a}/missing`] }, "not an existing directory"],
      [{ sandbox: "yolo" }, 'sandbox "yolo" is not one of'],
    ];
    for (const [options, message] of cases) {
      const result = await resolveSandboxPolicy(config({}), options);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.message).toContain(message);
    }
  });

  it("refuses a writable dir no file system can hold before looking for it", async () => {
    const a = await dirs.make("a");
    for (const [dir, message] of [
      [`${a}/${"d/".repeat(2_000_000)}`, "PATH_MAX"],
      [`${a}/${"c".repeat(256)}`, "NAME_MAX"],
    ] as const) {
      const result = await resolveSandboxPolicy(config({}), {
        sandbox: "workspace-write",
        writableDirs: [dir],
      });
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.message).toContain(message);
        expect(result.message.length).toBeLessThan(300);
      }
    }
  });
});
