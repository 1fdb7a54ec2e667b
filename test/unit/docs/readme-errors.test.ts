// The README's table of stream error codes is the one in code (internal/core/turn-error.ts).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

import { describe, expect, it } from "vitest";

import { NOTICE_CODES } from "../../../internal/core/notice-codes.js";
import { STREAM_ERRORS } from "../../../internal/core/turn-error.js";

const README = readFileSync(resolve(import.meta.dirname, "../../../README.md"), "utf8");

// The rows of the table between `<!-- name:start -->` and `<!-- name:end -->`, as cells.
function rows(name: string): string[][] {
  const start = README.indexOf(`<!-- ${name}:start -->`);
  const end = README.indexOf(`<!-- ${name}:end -->`);
  expect(start).toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(start);
  return README.slice(start, end)
    .split("\n")
    .filter((line) => line.startsWith("| `"))
    .map((line) =>
      line
        .split("|")
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}

function tableRows(): { code: string; classes: string[]; retryable: boolean; when: string }[] {
  return rows("stream-errors").map(([code = "", classes = "", retryable = "", when = ""]) => {
    return {
      code: code.replaceAll("`", ""),
      classes: classes.split(",").map((name) => name.trim().replaceAll("`", "")),
      retryable: retryable === "yes",
      when,
    };
  });
}

describe("README stream error table", () => {
  it("lists every code, with its classes, retry decision and summary, in the code's order", () => {
    expect(tableRows()).toEqual(
      Object.entries(STREAM_ERRORS).map(([code, spec]) => ({
        code,
        classes: [...spec.classes],
        retryable: spec.retryable,
        when: spec.summary,
      })),
    );
  });
});

describe("README notice code table", () => {
  it("lists every notice code with its summary, in the code's order", () => {
    expect(rows("notice-codes").map(([code = "", when = ""]) => ({ code, when }))).toEqual(
      Object.entries(NOTICE_CODES).map(([code, when]) => ({ code: `\`${code}\``, when })),
    );
  });
});
