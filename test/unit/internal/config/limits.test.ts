// The shared bound checks: paths no file system can hold, JSON too large or too deep to handle, and
// error lists that stay short however many problems there are.
import { describe, expect, it } from "vitest";

import {
  jsonTextProblem,
  MAX_JSON_DEPTH,
  MAX_LISTED_PROBLEMS,
  MAX_PATH_BYTES,
  MAX_PATH_COMPONENT_BYTES,
  pathProblem,
  quote,
  summariseProblems,
} from "../../../../internal/config/limits.js";

// An absolute path of exactly `bytes` bytes, in components of at most 200 bytes.
function pathOf(bytes: number): string {
  let path = "";
  while (path.length < bytes) {
    const room = bytes - path.length - 1;
    path += `/${"d".repeat(Math.min(200, Math.max(room, 0)))}`;
  }
  expect(Buffer.byteLength(path)).toBe(bytes);
  return path;
}

describe("pathProblem", () => {
  it("accepts a path of PATH_MAX - 1 bytes and refuses one byte more", () => {
    expect(MAX_PATH_BYTES).toBe(4095);
    expect(pathProblem(pathOf(MAX_PATH_BYTES))).toBeUndefined();
    expect(pathProblem(pathOf(MAX_PATH_BYTES + 1))).toMatch(/over 4095 bytes \(PATH_MAX\)/);
  });

  it("counts UTF-8 bytes, not characters", () => {
    // 2,156 characters, 4,290 bytes: 22 components of 97 two-byte characters.
    const path = `/${Array.from({ length: 22 }, () => "é".repeat(97)).join("/")}`;
    expect(path.length).toBeLessThan(MAX_PATH_BYTES);
    expect(Buffer.byteLength(path)).toBeGreaterThan(MAX_PATH_BYTES);
    expect(pathProblem(path)).toMatch(/PATH_MAX/);
  });

  it("accepts a 255-byte component and refuses a 256-byte one", () => {
    expect(MAX_PATH_COMPONENT_BYTES).toBe(255);
    expect(pathProblem(`/tmp/${"a".repeat(255)}/x`)).toBeUndefined();
    expect(pathProblem(`/tmp/${"a".repeat(256)}/x`)).toMatch(
      /component over 255 bytes \(NAME_MAX\)/,
    );
    // 128 two-byte characters are 256 bytes.
    expect(pathProblem(`relative/${"é".repeat(128)}`)).toMatch(/NAME_MAX/);
  });

  it("refuses a NUL byte, and a multi-megabyte path without quoting it all", () => {
    expect(pathProblem("/tmp/a\0b")).toMatch(/NUL/);
    const huge = `/${"a/".repeat(2_000_000)}`;
    expect(pathProblem(huge)).toMatch(/PATH_MAX/);
    expect(pathProblem(`/${"b".repeat(4000)}`)?.length).toBeLessThan(200);
  });
});

describe("jsonTextProblem", () => {
  const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

  it("accepts MAX_JSON_DEPTH levels and refuses one more", () => {
    expect(MAX_JSON_DEPTH).toBe(64);
    expect(jsonTextProblem(nested(64), 1000)).toBeUndefined();
    expect(jsonTextProblem(nested(65), 1000)).toBe("nests deeper than 64 levels");
    expect(jsonTextProblem(`{"a":${nested(64)}}`, 1000)).toBe("nests deeper than 64 levels");
  });

  it("ignores brackets inside strings, escaped quotes included", () => {
    const text = JSON.stringify({ s: `\\"${"[".repeat(500)}`, t: "{{{{" });
    expect(jsonTextProblem(text, 10_000)).toBeUndefined();
  });

  it("bounds the size in UTF-8 bytes", () => {
    expect(jsonTextProblem(JSON.stringify("x".repeat(98)), 100)).toBeUndefined();
    expect(jsonTextProblem(JSON.stringify("x".repeat(99)), 100)).toBe(
      "is 101 bytes; at most 100 are accepted",
    );
    expect(jsonTextProblem(JSON.stringify("é".repeat(50)), 100)).toMatch(/102 bytes/);
  });

  it("scans a million levels without recursing", () => {
    expect(jsonTextProblem(nested(1_000_000), 10_000_000)).toBe("nests deeper than 64 levels");
  });
});

describe("summariseProblems", () => {
  it("names at most MAX_LISTED_PROBLEMS problems and fields, then counts the rest", () => {
    const problems = Array.from({ length: 300_000 }, (_, index) => ({
      field: `model_args.m${index}`,
      message: "must be a model name",
    }));
    const { detail, fields } = summariseProblems(problems);
    expect(detail).toContain("model_args.m0: must be a model name");
    expect(detail).toContain(`model_args.m${MAX_LISTED_PROBLEMS - 1}: must be a model name`);
    expect(detail).not.toContain(`model_args.m${MAX_LISTED_PROBLEMS}:`);
    expect(detail).toMatch(/; and 299980 more problems$/);
    expect(detail.length).toBeLessThan(2000);
    expect(fields).toHaveLength(MAX_LISTED_PROBLEMS);
  });

  it("shortens long fields and messages", () => {
    const key = "k".repeat(1_000_000);
    const { detail, fields } = summariseProblems([
      { field: `model_args.${key}`, message: `bad ${key}` },
    ]);
    expect(detail.length).toBeLessThan(1000);
    expect(fields[0]).toMatch(/^model_args\.k+… \(1000011 characters\)$/);
  });

  it("quotes user text shortened", () => {
    expect(quote("short")).toBe('"short"');
    expect(quote("x".repeat(10_000))).toBe(`"${"x".repeat(96)}"…`);
  });
});
