import { defineConfig } from "vitest/config";

export const config = defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          // Real codex processes are heavy on a 2-core machine.
          fileParallelism: false,
          // Says which codex the run uses (CODEX_BIN, else the pinned one).
          globalSetup: ["test/helpers/codex-global-setup.ts"],
        },
      },
      // The long loops (`npm run soak`); never part of `npm test`.
      ...(process.env["PLEXUM_SOAK"] === "1"
        ? [
            {
              test: {
                name: "soak",
                include: ["test/soak/**/*.soak.ts"],
                testTimeout: 3 * 3600_000,
                hookTimeout: 60_000,
                fileParallelism: false,
                globalSetup: ["test/helpers/codex-global-setup.ts"],
              },
            },
          ]
        : []),
    ],
  },
});

// eslint-disable-next-line no-restricted-syntax -- vitest loads the default export.
export default config;
