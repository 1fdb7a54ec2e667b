import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { codexChecks, endpointCheck } from "../../../../internal/doctor/checks.js";
import { runDoctor } from "../../../../internal/doctor/run-doctor.js";
import { findCodexBinary } from "../../../helpers/codex-bin.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

describe("runDoctor", () => {
  const temp = createTempDirs();
  let server: Server;
  let url: string;
  let seen: { path: string; authorization: string | undefined }[];
  let status: number;
  let root: string;

  beforeEach(async () => {
    seen = [];
    status = 200;
    server = createServer((request, response) => {
      seen.push({ path: request.url ?? "", authorization: request.headers.authorization });
      response.writeHead(status, { "content-type": "application/json" });
      response.end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    root = await temp.make("doctor");
  });
  afterEach(async () => {
    await new Promise((resolve) => server.close(resolve));
    await temp.removeAll();
  });

  async function configFile(config: unknown): Promise<string> {
    const file = join(root, "config.json");
    await writeFile(file, JSON.stringify(config));
    return file;
  }

  const base = () => ({
    state_dir: join(root, "state"),
    codex_home: root,
    endpoint: { base_url: url, api_key_env: "DOCTOR_KEY" },
  });

  it("passes, probing the endpoint once with the key, and never prints the key", async () => {
    const report = await runDoctor({
      configFile: await configFile({ providers: [{ name: "x", path: "/p", config: base() }] }),
      env: { ...process.env, DOCTOR_KEY: "sk-doctor-unit-1" },
    });
    expect(report.exitCode, report.text).toBe(0);
    expect(seen).toEqual([{ path: "/v1/models", authorization: "Bearer sk-doctor-unit-1" }]);
    expect(report.text).not.toContain("sk-doctor-unit-1");
    const names = report.results.map((result) => result.name);
    for (const name of ["config", "codex", "auth", "endpoint", "state_dir", "CODEX_HOME"]) {
      expect(names).toContain(name);
    }
  });

  it("fails with a rejected key, a missing CODEX_HOME and a broken config, saying what to do", async () => {
    status = 401;
    const report = await runDoctor({
      configFile: await configFile({
        ...base(),
        codex_home: join(root, "missing-home"),
        timeouts: { turn_seconds: -1 },
      }),
      env: { ...process.env, DOCTOR_KEY: "sk-doctor-unit-2" },
    });
    expect(report.exitCode).toBe(1);
    const failed = report.results.filter((result) => result.status === "fail");
    expect(failed.map((result) => result.name)).toEqual(
      expect.arrayContaining(["config", "endpoint"]),
    );
    for (const result of failed) expect(result.remedy).toBeDefined();
    // The rest of the config (the endpoint) was still checked.
    expect(report.text).toMatch(/endpoint: .*answered 401/);
    expect(report.text).toContain("what to do:");
  });

  it("names the codex and CODEX_HOME to log in with, and says bypass is the default", async () => {
    const codex = findCodexBinary();
    if (!codex.found) throw new Error(codex.reason);
    const report = await runDoctor({
      configFile: await configFile({
        state_dir: join(root, "state"),
        codex_home: root,
        binary: codex.path,
        openai: { base_url: url },
      }),
      env: { PATH: process.env["PATH"] ?? "" },
      probeSandbox: async () => ({ works: true, detail: "probed" }),
    });
    const auth = report.results.find((result) => result.name === "auth");
    expect(auth).toMatchObject({ status: "fail" });
    // After `npm ci`, or on a host the plugin was copied to, no `codex` need be on PATH.
    expect(auth?.remedy).toContain(`\`CODEX_HOME=${root} ${codex.path} login --device-auth\``);
    const sandbox = report.results.find((result) => result.name === "sandbox");
    expect(sandbox).toMatchObject({ status: "warn" });
    expect(report.text).toMatch(/^WARN {2}sandbox: sandbox is "bypass" \(the default\)/m);
    const names = report.results.map((result) => result.name);
    expect(names).toEqual(expect.arrayContaining(["node", "node under systemd", "codex sandbox"]));
  });

  it("reports paths that cannot exist, and a config over its bounds, without walking them", async () => {
    const long = `${root}/${"a/".repeat(200_000)}`;
    const report = await runDoctor({
      configFile: await configFile({
        ...base(),
        state_dir: long,
        model_args: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`m${i}`, "gpt"])),
      }),
      env: { ...process.env, DOCTOR_KEY: "k", XDG_STATE_HOME: long },
    });
    expect(report.exitCode).toBe(1);
    const config = report.results.filter((result) => result.name === "config");
    expect(config.map((result) => result.detail)).toEqual([
      "model_args: has 300 entries; at most 256 are accepted",
      "state_dir: is over 4095 bytes (PATH_MAX); no such path can exist",
    ]);
    // The rest runs on what is left: the default state dir, here under an impossible XDG_STATE_HOME.
    expect(report.results.find((result) => result.name === "state_dir")).toMatchObject({
      status: "fail",
      detail: expect.stringContaining("no such path can exist"),
    });
    expect(report.text.length).toBeLessThan(10_000);
  });

  it("reports a config of 300,000 unknown keys in a few lines, then checks the rest of it", async () => {
    const unknown = Object.fromEntries(
      Array.from({ length: 300_000 }, (_, i) => [`unknown_${i}`, i]),
    );
    const report = await runDoctor({
      configFile: await configFile({ ...base(), ...unknown }),
      env: { ...process.env, DOCTOR_KEY: "sk-doctor-unit-3" },
    });
    expect(report.exitCode).toBe(1);
    const config = report.results.filter((result) => result.name === "config");
    expect(config).toHaveLength(1);
    expect(config[0]?.detail).toMatch(/^\(root\): is \d+ bytes of JSON; at most 1048576/);
    // The known keys were kept: the endpoint was probed with the configured key.
    expect(seen).toEqual([{ path: "/v1/models", authorization: "Bearer sk-doctor-unit-3" }]);
    expect(report.text.length).toBeLessThan(10_000);
  });

  it("fails on a file that is not JSON", async () => {
    const file = join(root, "broken.json");
    await writeFile(file, "{nope");
    const report = await runDoctor({ configFile: file, env: process.env });
    expect(report.exitCode).toBe(1);
    expect(report.results[0]).toMatchObject({ name: "config", status: "fail" });
  });
});

describe("endpointCheck", () => {
  it("reports a timeout in plain words", async () => {
    const hang: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
      });
    const result = await endpointCheck(
      { baseUrl: "http://10.255.255.1/v1", apiKey: undefined, what: "endpoint x" },
      50,
      hang,
    );
    expect(result).toMatchObject({ status: "fail" });
    expect(result.detail).toContain("no answer within 50 ms");
  });
});

describe("codexChecks", () => {
  const ready = (version: string) => ({
    ready: true,
    path: "/opt/codex",
    source: "config" as const,
    version,
    degradedReason: "",
    features: [],
    notes: [],
  });

  it("is one OK line for a tested codex with every feature", () => {
    expect(codexChecks(ready("0.169.0"), "exec")).toEqual([
      {
        name: "codex",
        status: "ok",
        detail:
          "/opt/codex (config), codex-cli 0.169.0, supported (minimum 0.148.0, tested up to 0.171.0)",
      },
    ]);
  });

  it("warns about each missing feature, saying what works differently and what to do", () => {
    const [ok, ...warnings] = codexChecks(ready("0.150.0"), "exec");
    expect(ok?.status).toBe("ok");
    expect(warnings).toEqual([
      {
        name: "codex",
        status: "warn",
        detail: expect.stringMatching(/^no mcp_text_results: host tool results reach the model as/),
        remedy:
          "upgrade codex to 0.151.0 or newer, which passes an MCP tool's text result to the model as text",
      },
    ]);
  });

  it("warns about the app-server backend's codex only where that backend is configured", () => {
    const [, ...warnings] = codexChecks(ready("0.150.0"), "app-server");
    expect(warnings.map((warning) => warning.detail)).toEqual([
      expect.stringMatching(/^no mcp_text_results/),
      expect.stringMatching(/^no app_server_turns: backend "app-server" refuses every turn/),
    ]);
  });

  it("warns that a codex newer than the newest tested one is untested", () => {
    const [ok, warning, ...rest] = codexChecks(ready("0.172.0"), "exec");
    expect(ok?.status).toBe("ok");
    expect(warning).toMatchObject({ status: "warn", detail: expect.stringContaining("untested") });
    expect(rest).toEqual([]);
  });

  it("fails for a codex that is not ready, with its reason as the remedy", () => {
    expect(
      codexChecks(
        { ...ready("0.100.0"), ready: false, degradedReason: "too old: upgrade" },
        "exec",
      ),
    ).toEqual([
      {
        name: "codex",
        status: "fail",
        detail: "/opt/codex is not usable",
        remedy: "too old: upgrade",
      },
    ]);
  });
});
