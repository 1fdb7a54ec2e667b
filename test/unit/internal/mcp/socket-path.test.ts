import { lstat, mkdir, mkdtemp, rm, stat, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import {
  agentSocketPath,
  ensureSocketDir,
  MAX_SOCKET_PATH_BYTES,
  socketFileName,
} from "../../../../internal/mcp/socket-path.js";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "plexum-sockpath-"));
  dirs.push(dir);
  return dir;
}

describe("agentSocketPath", () => {
  it("is the same for the same agent and config, on every call", () => {
    const options = { stateDir: "/var/lib/plexum/openai-provider" };
    const first = agentSocketPath("agent-a", options);
    expect(agentSocketPath("agent-a", { ...options })).toBe(first);
    expect(first).toBe(`/var/lib/plexum/openai-provider/mcp/${socketFileName("agent-a")}`);
  });

  it("gives distinct agents distinct sockets, also when their sanitised names collide", () => {
    const stateDir = "/state";
    const paths = ["a.b", "a_b", "a/b", "A.B"].map((id) => agentSocketPath(id, { stateDir }));
    expect(new Set(paths).size).toBe(4);
  });

  it("uses a fixed-length hashed name, so any agent id fits", () => {
    const long = "x".repeat(256);
    const unicode = "агент-🤖-".repeat(20);
    for (const id of [long, unicode, "a"]) {
      expect(socketFileName(id)).toMatch(/^[0-9a-f]{16}\.sock$/);
      const path = agentSocketPath(id, { stateDir: "/s" });
      expect(Buffer.byteLength(path)).toBeLessThanOrEqual(MAX_SOCKET_PATH_BYTES);
    }
  });

  it("falls back to a per-uid temp dir, still per state dir, when state_dir is too long", () => {
    const stateDir = `/${"deep/".repeat(30)}state`;
    const a = agentSocketPath("agent", { stateDir, fallbackBase: "/tmp", uid: 1000 });
    const b = agentSocketPath("agent", {
      stateDir: `${stateDir}2`,
      fallbackBase: "/tmp",
      uid: 1000,
    });
    expect(a).toMatch(/^\/tmp\/plexum-mcp-1000\/[0-9a-f]{8}-[0-9a-f]{16}\.sock$/);
    expect(b).not.toBe(a);
    expect(Buffer.byteLength(a)).toBeLessThanOrEqual(MAX_SOCKET_PATH_BYTES);
    // Deterministic: the plugin after a restart derives the same fallback path.
    expect(agentSocketPath("agent", { stateDir, fallbackBase: "/tmp", uid: 1000 })).toBe(a);
  });

  it("uses mcp_host.socket_dir as given and refuses one that is too long", () => {
    expect(agentSocketPath("a", { stateDir: "/s", socketDir: "/run/plexum" })).toBe(
      `/run/plexum/${socketFileName("a")}`,
    );
    expect(() =>
      agentSocketPath("a", { stateDir: "/s", socketDir: `/${"x".repeat(100)}` }),
    ).toThrow(/mcp_host.socket_dir .* is too long/);
  });

  it("fails clearly when even the fallback is too long", () => {
    expect(() =>
      agentSocketPath("a", {
        stateDir: `/${"s".repeat(120)}`,
        fallbackBase: `/${"t".repeat(100)}`,
      }),
    ).toThrow(/set mcp_host.socket_dir to a short directory/);
  });
});

describe("ensureSocketDir", () => {
  it("creates a missing directory with mode 0700", async () => {
    const dir = join(await tempDir(), "state", "mcp");
    await ensureSocketDir(dir);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });

  it("tightens an existing directory to 0700", async () => {
    const dir = join(await tempDir(), "open");
    await mkdir(dir, { mode: 0o755 });
    await ensureSocketDir(dir);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });

  it("refuses a symlink in place of the directory", async () => {
    const root = await tempDir();
    await mkdir(join(root, "real"));
    await symlink(join(root, "real"), join(root, "link"));
    await expect(ensureSocketDir(join(root, "link"))).rejects.toThrow(/is not a directory/);
    expect((await lstat(join(root, "link"))).isSymbolicLink()).toBe(true);
  });
});
