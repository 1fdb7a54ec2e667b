import js from "@eslint/js";
import simpleImportSort from "eslint-plugin-simple-import-sort";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "dist/**",
      "src/gen/**",
      "internal/app-server/protocol/**",
      "node_modules/**",
      "coverage/**",
      "packages/go-plugin/dist/**",
      "packages/go-plugin/example/gen/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        setImmediate: "readonly",
        URL: "readonly",
        AbortController: "readonly",
        AbortSignal: "readonly",
        TextDecoder: "readonly",
        TextEncoder: "readonly",
        structuredClone: "readonly",
        performance: "readonly",
      },
    },
    plugins: { "simple-import-sort": simpleImportSort },
    rules: {
      "simple-import-sort/imports": "error",
      "simple-import-sort/exports": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
      "@typescript-eslint/ban-ts-comment": [
        "error",
        { "ts-expect-error": "allow-with-description" },
      ],
      "func-style": ["error", "declaration", { allowArrowFunctions: true }],
      "no-restricted-syntax": [
        "error",
        { selector: "ExportDefaultDeclaration", message: "Use named exports." },
      ],
    },
  },
  {
    files: ["src/**/*.ts", "internal/**/*.ts"],
    rules: {
      "no-console": "error",
    },
  },
  {
    // src/ is the reusable SDK: it must not reach into the application or the entry points.
    files: ["src/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: ["**/internal/**", "**/cmd/**"] }],
    },
  },
  {
    files: ["internal/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: ["**/cmd/**"] }],
    },
  },
  {
    files: ["scripts/**/*.mjs", "*.config.js", "test/fixtures/**/*.mjs"],
    rules: { "no-restricted-syntax": "off" },
  },
);
