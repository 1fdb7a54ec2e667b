import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

import { build } from "esbuild";
import { describe, expect, it } from "vitest";

import { isPluginError } from "../../../../src/errors.js";
import { createHclogLogger } from "../../../../src/log/hclog-logger.js";

const timestampPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function capture(): {
  stream: { write(line: string): void };
  records: () => Record<string, unknown>[];
  raw: string[];
} {
  const raw: string[] = [];
  return {
    stream: { write: (line: string) => void raw.push(line) },
    raw,
    records: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe("createHclogLogger", () => {
  it("writes exactly @level, @timestamp and @message for a plain message", () => {
    const out = capture();
    createHclogLogger({ destination: out.stream }).info("hello");
    expect(out.raw).toHaveLength(1);
    expect(out.raw[0]?.endsWith("\n")).toBe(true);
    const [record] = out.records();
    expect(Object.keys(record ?? {}).sort()).toEqual(["@level", "@message", "@timestamp"]);
    expect(record).toMatchObject({ "@level": "info", "@message": "hello" });
    expect(record?.["@timestamp"]).toMatch(timestampPattern);
  });

  it("uses a real, current UTC time with six fractional digits", () => {
    const out = capture();
    const before = Date.now();
    createHclogLogger({ destination: out.stream }).info("now");
    const after = Date.now();
    const stamp = out.records()[0]?.["@timestamp"] as string;
    expect(stamp).toMatch(timestampPattern);
    const ms = Date.parse(stamp.replace(/(\.\d{3})\d{3}Z$/, "$1Z"));
    expect(ms).toBeGreaterThanOrEqual(before - 2);
    expect(ms).toBeLessThanOrEqual(after + 2);
  });

  it("writes strings for @message and @module whatever the caller passes", () => {
    const out = capture();
    const logger = createHclogLogger({ destination: out.stream, level: "trace" });
    logger.info(42 as unknown as string);
    logger.info({ a: 1 }, 7 as unknown as string);
    logger.info({ "@message": 5 });
    logger.info({ b: 2 });
    logger.info(null as unknown as string);
    Reflect.apply(logger.trace, logger, []);
    logger.child({ "@module": 9 }).warn("child");
    logger.error(new Error("boom"));
    const records = out.records();
    expect(records.map((r) => r["@message"])).toEqual([
      "42",
      "7",
      "5",
      "",
      "null",
      "",
      "child",
      "boom",
    ]);
    expect(records[6]?.["@module"]).toBe("9");
    for (const record of records) {
      expect(typeof record["@level"]).toBe("string");
      expect(typeof record["@timestamp"]).toBe("string");
      expect(typeof record["@message"]).toBe("string");
    }
  });

  it("maps pino levels to hclog names, fatal to error", () => {
    const out = capture();
    const logger = createHclogLogger({ destination: out.stream, level: "trace" });
    logger.trace("t");
    logger.debug("d");
    logger.info("i");
    logger.warn("w");
    logger.error("e");
    logger.fatal("f");
    expect(out.records().map((r) => r["@level"])).toEqual([
      "trace",
      "debug",
      "info",
      "warn",
      "error",
      "error",
    ]);
  });

  it("honours the level option", () => {
    const out = capture();
    const logger = createHclogLogger({ destination: out.stream, level: "warn" });
    logger.info("hidden");
    logger.warn("shown");
    expect(out.records().map((r) => r["@message"])).toEqual(["shown"]);
  });

  it("never writes pid, hostname, time, level or msg, and callers cannot override @level/@timestamp", () => {
    const out = capture();
    const logger = createHclogLogger({ destination: out.stream, bindings: { "@module": "sdk" } });
    logger.child({ "@level": 99 }).info({ "@level": 3, "@timestamp": 4, x: 1 }, "m");
    const [record] = out.records();
    expect(record).toEqual({
      "@level": "info",
      "@timestamp": expect.stringMatching(timestampPattern) as unknown,
      "@module": "sdk",
      x: 1,
      "@message": "m",
    });
    // A duplicate key would win in Go's decoder, so it must not appear at all.
    expect(out.raw[0]?.match(/"@level"/g)).toHaveLength(1);
    expect(out.raw[0]?.match(/"@timestamp"/g)).toHaveLength(1);
  });

  it("redacts credential keys at any of the first three levels", () => {
    const out = capture();
    createHclogLogger({ destination: out.stream }).info(
      {
        apiKey: "k1",
        headers: { authorization: "Bearer abc" },
        config: { env: { OPENAI_API_KEY: "sk-secret" } },
        nested: { token: "t" },
        safe: "visible",
      },
      "redaction",
    );
    const line = out.raw[0] ?? "";
    for (const secret of ["k1", "Bearer abc", "sk-secret", '"t"'])
      expect(line).not.toContain(secret);
    expect(out.records()[0]).toMatchObject({
      apiKey: "[REDACTED]",
      headers: { authorization: "[REDACTED]" },
      config: { env: { OPENAI_API_KEY: "[REDACTED]" } },
      nested: { token: "[REDACTED]" },
      safe: "visible",
    });
  });

  it("refuses stdout as destination", () => {
    let thrown: unknown;
    try {
      createHclogLogger({ destination: 1 });
    } catch (error) {
      thrown = error;
    }
    expect(isPluginError(thrown) && thrown.code).toBe("PLUGIN_MISCONFIGURED");
  });

  it("writes to stderr by default, synchronously, and nothing to stdout", async () => {
    const entry = fileURLToPath(new URL("../../../../src/log/hclog-logger.ts", import.meta.url));
    const bundle = await build({
      stdin: {
        contents: `import { createHclogLogger } from ${JSON.stringify(entry)};
const logger = createHclogLogger();
logger.info({ n: 1 }, "first");
logger.error("last before exit");
process.exit(0);`,
        loader: "ts",
        resolveDir: fileURLToPath(new URL(".", import.meta.url)),
      },
      bundle: true,
      platform: "node",
      format: "cjs",
      write: false,
      logLevel: "silent",
    });
    const code = bundle.outputFiles[0]?.text ?? "";
    const run = spawnSync(process.execPath, ["-"], { input: code, encoding: "utf8" });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe("");
    const lines = run.stderr
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      {
        "@level": "info",
        "@timestamp": expect.stringMatching(timestampPattern) as unknown,
        n: 1,
        "@message": "first",
      },
      {
        "@level": "error",
        "@timestamp": expect.stringMatching(timestampPattern) as unknown,
        "@message": "last before exit",
      },
    ]);
  });
});
