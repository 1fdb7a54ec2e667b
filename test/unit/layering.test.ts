// The layering, checked on every import of the sources (the MCP TypeScript SDK's layering test, for
// this tree): imports run one way, folder by folder, and no files import each other in a loop.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

/**
 * The folders of internal/, lowest first. A folder may import only folders of a lower rank (and
 * itself): the shared vocabulary at the bottom, the turn engine above what it uses, the codex
 * backends above the engine's seam, the composition and the wire at the top.
 */
const INTERNAL_RANKS: Record<string, number> = {
  core: 0,
  config: 1,
  jsonl: 1,
  "mock-model": 1,
  proc: 1,
  store: 1,
  codex: 2,
  git: 2,
  mcp: 2,
  rollout: 2,
  turn: 3,
  exec: 4,
  // The codex app-server client and what runs on it; beside exec, never importing it.
  "app-server": 4,
  app: 5,
  doctor: 5,
  provider: 6,
};

interface Edge {
  from: string;
  to: string;
}

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) files.push(path);
  }
  return files;
}

// Every relative import and re-export, static or dynamic, as repository paths.
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const specs = text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g);
  return [...specs].map((match) =>
    relative(ROOT, resolve(ROOT, dirname(file), (match[1] ?? "").replace(/\.js$/, ".ts"))),
  );
}

/** The generated app-server protocol types (npm run generate:app-server). */
const APP_SERVER_PROTOCOL = "internal/app-server/protocol/";

const files = ["src", "internal", "cmd"].flatMap(sourceFiles);
const edges: Edge[] = files
  .filter((file) => !file.startsWith("src/gen/") && !file.startsWith(APP_SERVER_PROTOCOL))
  .flatMap((file) => importsOf(file).map((to) => ({ from: file, to })));

const folderOf = (path: string): string => path.split("/")[1] ?? "";
const show = (list: Edge[]) => list.map((edge) => `${edge.from} -> ${edge.to}`);

describe("layering", () => {
  it("reads the imports (a sanity check of this test)", () => {
    expect(files.length).toBeGreaterThan(100);
    expect(edges.some((edge) => edge.to === "internal/turn/codex-backend.ts")).toBe(true);
  });

  it("keeps the SDK in src/ free of the application", () => {
    const bad = edges.filter(
      (edge) =>
        edge.from.startsWith("src/") && !edge.to.startsWith("src/") && edge.to !== "package.json",
    );
    expect(show(bad)).toEqual([]);
  });

  it("never imports an entry point", () => {
    const bad = edges.filter((edge) => edge.to.startsWith("cmd/") && !edge.from.startsWith("cmd/"));
    expect(show(bad)).toEqual([]);
  });

  it("keeps the generated Plexum protocol behind internal/provider", () => {
    const bad = edges.filter(
      (edge) =>
        edge.to.startsWith("src/gen/plexum/") &&
        !edge.from.startsWith("internal/provider/") &&
        !edge.from.startsWith("src/gen/"),
    );
    expect(show(bad)).toEqual([]);
  });

  it("keeps the generated app-server protocol inside internal/app-server", () => {
    const bad = edges.filter(
      (edge) =>
        edge.to.startsWith(APP_SERVER_PROTOCOL) && !edge.from.startsWith("internal/app-server/"),
    );
    expect(show(bad)).toEqual([]);
  });

  it("gives every internal/ folder a rank", () => {
    const folders = new Set(files.filter((f) => f.startsWith("internal/")).map(folderOf));
    expect([...folders].filter((folder) => !(folder in INTERNAL_RANKS))).toEqual([]);
  });

  it("imports internal/ folders only downward", () => {
    const bad = edges.filter((edge) => {
      if (!edge.from.startsWith("internal/") || !edge.to.startsWith("internal/")) return false;
      const from = folderOf(edge.from);
      const to = folderOf(edge.to);
      return from !== to && (INTERNAL_RANKS[to] ?? Infinity) >= (INTERNAL_RANKS[from] ?? -1);
    });
    expect(show(bad)).toEqual([]);
  });

  it("has no import cycle between files", () => {
    const next = new Map<string, string[]>();
    for (const edge of edges) next.set(edge.from, [...(next.get(edge.from) ?? []), edge.to]);
    const state = new Map<string, "open" | "done">();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "open") {
        cycles.push([...path.slice(path.indexOf(file)), file].join(" -> "));
        return;
      }
      state.set(file, "open");
      for (const to of next.get(file) ?? []) visit(to, [...path, file]);
      state.set(file, "done");
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
