// Configure's bounds, through parseConfig: every map, list, string, path and nesting just under its
// bound is accepted and just over it is refused with CONFIG_INVALID naming the field, and input
// far over any bound (megabytes of model_args, 200,000 levels of nesting) is refused the same way
// instead of overflowing the stack.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { flattenConfigOverrides } from "../../../../internal/config/config-overrides.js";
import {
  MAX_CONFIG_JSON_BYTES,
  MAX_CONFIG_READ_BYTES,
  MAX_ENTRIES,
  MAX_LISTED_PROBLEMS,
  MAX_NAME_CHARS,
  MAX_OVERRIDE_BYTES,
  MAX_OVERRIDE_DEPTH,
  MAX_OVERRIDE_KEYS,
  MAX_PATH_BYTES,
  MAX_TEXT_CHARS,
} from "../../../../internal/config/limits.js";
import { parseConfig } from "../../../../internal/config/load-config.js";
import { isAppError } from "../../../../internal/core/app-error.js";

const env = { XDG_STATE_HOME: "/var/lib/xdg", MODEL_KEY: "k" };

function configError(json: unknown): { fields: readonly string[]; message: string; code: string } {
  try {
    parseConfig(json, { env, homeDir: "/home/op" });
  } catch (error) {
    if (!isAppError(error)) throw error;
    return { fields: error.fields, message: error.message, code: error.code };
  }
  throw new Error("expected parseConfig to throw");
}

const accepts = (json: unknown) => parseConfig(json, { env, homeDir: "/home/op" }).config;

// `count` distinct entries.
const models = (count: number) => Array.from({ length: count }, (_, i) => `model-${i}`);
const mapOf = (count: number, value = (i: number) => `v${i}`) =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, value(i)]));

// An absolute path of exactly `bytes` bytes.
function pathOf(bytes: number): string {
  let path = "";
  while (path.length < bytes) path += `/${"d".repeat(Math.min(200, bytes - path.length - 1))}`;
  return path;
}

// Nested tables `depth` levels below config_overrides, with one leaf at the bottom.
function nestedTables(depth: number): Record<string, unknown> {
  let node: Record<string, unknown> = { leaf: 1 };
  for (let level = 1; level < depth; level += 1) node = { [`t${level}`]: node };
  return node;
}

describe("Configure's bounds", () => {
  it("refuses a 4 MB model_args naming model_args, in a short message", () => {
    const modelArgs = Object.fromEntries(models(180_000).map((id) => [id, `gpt-${id}`]));
    const text = JSON.stringify({ supported_models: ["codex"], model_args: modelArgs });
    expect(text.length).toBeGreaterThan(4_000_000);

    const fromText = configError(text);
    expect(fromText.code).toBe("CONFIG_INVALID");
    expect(fromText.fields).toEqual(["(root)", "model_args"]);
    expect(fromText.message).toContain(`is ${text.length} bytes of JSON; at most 1048576`);
    expect(fromText.message).toContain("model_args: has 180000 entries; at most 256 are accepted");
    expect(fromText.message.length).toBeLessThan(1000);

    // The same map handed over already parsed (as the doctor does) is refused for its size too.
    const fromObject = configError({ model_args: modelArgs });
    expect(fromObject.fields).toEqual(["model_args"]);
    expect(fromObject.message).toContain("has 180000 entries");
  });

  it("accepts config_json of exactly the bound, refuses one byte more, and refuses a far larger one unread", () => {
    const base = JSON.stringify({ binary: "/usr/bin/codex" });
    const exact = base.padEnd(MAX_CONFIG_JSON_BYTES, " ");
    expect(accepts(exact).binary).toBe("/usr/bin/codex");
    expect(configError(`${exact} `).fields).toEqual(["(root)"]);

    // Not even valid JSON: over MAX_CONFIG_READ_BYTES it is never parsed.
    const unread = configError(`{${"x".repeat(MAX_CONFIG_READ_BYTES)}`);
    expect(unread.message).toMatch(/^invalid plugin config: \(root\): is \d+ bytes of JSON/);
    expect(unread.message).not.toContain("not valid JSON");
  });

  it.each([
    ["supported_models", (n: number) => ({ supported_models: models(n) })],
    ["extra_args", (n: number) => ({ extra_args: models(n) })],
    ["writable_dirs", (n: number) => ({ writable_dirs: models(n).map((m) => `/srv/${m}`) })],
    [
      "model_args",
      (n: number) => ({
        supported_models: models(n).slice(0, MAX_ENTRIES),
        model_args: Object.fromEntries(models(n).map((m) => [m, m])),
      }),
    ],
    [
      "endpoint.http_headers",
      (n: number) => ({ endpoint: { base_url: "http://127.0.0.1:1", http_headers: mapOf(n) } }),
    ],
    [
      "endpoint.env_http_headers",
      (n: number) => ({
        endpoint: { base_url: "http://127.0.0.1:1", env_http_headers: mapOf(n, () => "MODEL_KEY") },
      }),
    ],
    [
      "endpoint.query_params",
      (n: number) => ({ endpoint: { base_url: "http://127.0.0.1:1", query_params: mapOf(n) } }),
    ],
  ])("accepts %s with MAX_ENTRIES entries and refuses one more", (field, config) => {
    expect(() => accepts(config(MAX_ENTRIES))).not.toThrow();
    const error = configError(config(MAX_ENTRIES + 1));
    expect(error.fields).toEqual([field]);
    expect(error.message).toContain(`${field}: has 257 entries; at most 256 are accepted`);
  });

  it.each([
    ["supported_models.0", (s: string) => ({ supported_models: [s] }), MAX_NAME_CHARS],
    ["model_args.codex", (s: string) => ({ model_args: { codex: s } }), MAX_NAME_CHARS],
    ["extra_args.0", (s: string) => ({ extra_args: [s] }), MAX_TEXT_CHARS],
    ["worktree.base_ref", (s: string) => ({ worktree: { base_ref: s } }), MAX_TEXT_CHARS],
    [
      "endpoint.model",
      (s: string) => ({ endpoint: { base_url: "http://127.0.0.1:1", model: s } }),
      MAX_NAME_CHARS,
    ],
    [
      "endpoint.http_headers.x-h",
      (s: string) => ({ endpoint: { base_url: "http://127.0.0.1:1", http_headers: { "x-h": s } } }),
      MAX_TEXT_CHARS,
    ],
    [
      "endpoint.query_params.q",
      (s: string) => ({ endpoint: { base_url: "http://127.0.0.1:1", query_params: { q: s } } }),
      MAX_TEXT_CHARS,
    ],
  ])("accepts %s at its length bound and refuses one character more", (field, config, max) => {
    expect(() => accepts(config("m".repeat(max)))).not.toThrow();
    const error = configError(config("m".repeat(max + 1)));
    expect(error.fields).toEqual([field]);
    expect(error.message).toContain(`must be at most ${max} characters`);
  });

  it("bounds map keys too, quoting none of a long key in full", () => {
    const key = "k".repeat(1_000_000);
    const error = configError({ model_args: { [key]: "gpt" } });
    expect(error.fields).toHaveLength(1);
    expect(error.fields[0]).toMatch(/^model_args\.k+… \(1000011 characters\)$/);
    expect(error.message).toContain("must be at most 256 characters");
    expect(error.message.length).toBeLessThan(1000);
  });

  describe("paths", () => {
    let existing: string;
    beforeAll(async () => {
      existing = await mkdtemp(join(tmpdir(), "plexum-limits-"));
    });
    afterAll(async () => {
      await rm(existing, { recursive: true, force: true });
    });

    it("accepts a path of PATH_MAX - 1 bytes and refuses longer ones before any stat", () => {
      expect(accepts({ state_dir: pathOf(MAX_PATH_BYTES) }).stateDir).toBe(pathOf(MAX_PATH_BYTES));
      const long = configError({ state_dir: pathOf(MAX_PATH_BYTES + 1) });
      expect(long.fields).toEqual(["state_dir"]);
      expect(long.message).toContain("is over 4095 bytes (PATH_MAX); no such path can exist");

      // codex_home is stat'ed when valid: a path that cannot exist is refused for its length.
      const home = configError({ codex_home: `${existing}/${"a/".repeat(1_000_000)}` });
      expect(home.fields).toEqual(["codex_home"]);
      expect(home.message).toContain("PATH_MAX");
      expect(home.message).not.toContain("does not exist");
      expect(home.message.length).toBeLessThan(1000);
    });

    it("refuses a component over 255 bytes in every path key", () => {
      const bad = `/srv/${"c".repeat(256)}`;
      const error = configError({
        binary: bad,
        state_dir: bad,
        codex_home: bad,
        writable_dirs: ["/srv", bad],
        mcp_host: { command: bad, socket_dir: bad },
      });
      expect(error.fields).toEqual([
        "binary",
        "state_dir",
        "codex_home",
        "writable_dirs.1",
        "mcp_host.command",
        "mcp_host.socket_dir",
      ]);
      expect(error.message).toContain("component over 255 bytes (NAME_MAX)");
      expect(() =>
        accepts({ codex_home: existing, state_dir: `/srv/${"c".repeat(255)}` }),
      ).not.toThrow();
    });
  });

  describe("config_overrides", () => {
    it("accepts MAX_OVERRIDE_DEPTH levels of tables and refuses one more", () => {
      const config = accepts({ config_overrides: nestedTables(MAX_OVERRIDE_DEPTH) });
      expect(config.configOverrides).toHaveLength(1);
      expect(config.configOverrides[0]?.split("=")[0]?.split(".")).toHaveLength(MAX_OVERRIDE_DEPTH);
      const error = configError({ config_overrides: nestedTables(MAX_OVERRIDE_DEPTH + 1) });
      expect(error.fields).toEqual(["config_overrides"]);
      expect(error.message).toContain("nests deeper than 16 levels");
    });

    it("refuses 200,000 levels of tables or arrays, without recursing into them", () => {
      for (const deep of [
        nestedTables(200_000),
        { a: JSON.parse(`${"[".repeat(2e5)}${"]".repeat(2e5)}`) },
      ]) {
        const error = configError({ config_overrides: deep });
        expect(error.fields).toEqual(["config_overrides"]);
        expect(error.message).toContain("nests deeper than 16 levels");
      }
      // The same document as JSON text, parsed by the plugin.
      const text = `{"config_overrides":${'{"a":'.repeat(200_000)}1${"}".repeat(200_000)}}`;
      expect(configError(text).message).toContain("config_overrides: nests deeper than 16 levels");
    });

    it("flattens safely on its own: tables and arrays past the depth become errors", () => {
      const flattened = flattenConfigOverrides({
        deep: nestedTables(100_000),
        arrays: JSON.parse(`${"[".repeat(10_000)}1${"]".repeat(10_000)}`) as unknown,
      });
      expect(flattened.assignments).toEqual([]);
      expect(flattened.errors.map((error) => error.message)).toEqual([
        "tables nest deeper than 16 levels",
        "array element: arrays nest deeper than 16 levels",
      ]);
    });

    it("accepts MAX_OVERRIDE_KEYS keys and array elements and refuses one more", () => {
      // Keys `list` and `table`, two elements, and the table's keys.
      const flat = (count: number) => ({
        config_overrides: { list: [1, 2], table: mapOf(count - 4, () => "v") },
      });
      expect(accepts(flat(MAX_OVERRIDE_KEYS)).configOverrides).toHaveLength(MAX_OVERRIDE_KEYS - 3);
      const error = configError(flat(MAX_OVERRIDE_KEYS + 1));
      expect(error.fields).toEqual(["config_overrides"]);
      expect(error.message).toContain("has over 1024 keys and array elements");
      expect(configError({ config_overrides: mapOf(300_000) }).fields).toEqual([
        "config_overrides",
      ]);
    });

    it("refuses a leaf whose -c assignment is over MAX_OVERRIDE_BYTES", () => {
      // `k=` plus the quoted string.
      const fits = "v".repeat(MAX_OVERRIDE_BYTES - 4);
      expect(accepts({ config_overrides: { k: fits } }).configOverrides[0]).toHaveLength(
        MAX_OVERRIDE_BYTES,
      );
      const error = configError({ config_overrides: { k: `${fits}v` } });
      expect(error.fields).toEqual(["config_overrides.k"]);
      expect(error.message).toContain(
        "renders as 65537 bytes; one codex -c value holds at most 65536",
      );
    });

    it("refuses a key segment over MAX_NAME_CHARS", () => {
      expect(() =>
        accepts({ config_overrides: { ["k".repeat(MAX_NAME_CHARS)]: 1 } }),
      ).not.toThrow();
      const error = configError({ config_overrides: { ["k".repeat(MAX_NAME_CHARS + 1)]: 1 } });
      expect(error.message).toContain("is 257 characters; at most 256 are accepted");
    });
  });

  it("lists at most MAX_LISTED_PROBLEMS of 300,000 problems, in a message of bounded size", () => {
    const unknown = Object.fromEntries(models(300_000).map((id) => [id, true]));
    const error = configError(unknown);
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.fields).toHaveLength(MAX_LISTED_PROBLEMS);
    expect(error.fields[0]).toBe("model-0");
    expect(error.message).toMatch(/; and 299980 more problems$/);
    expect(error.message.length).toBeLessThan(2000);
  });
});
