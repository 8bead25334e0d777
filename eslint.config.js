// Type-aware checks and the import arrows; biome does formatting and the rest of linting.
// no-floating-promises: an un-awaited ack or close is exactly the bug this system cannot afford.
import tseslint from "typescript-eslint";
import { importArrows } from "./eslint-arrows.js";

export default tseslint.config(
  { ignores: ["dist/**", "src/gen/**", "src/web/**", "node_modules/**"] },
  {
    files: ["src/**/*.ts", "test/**/*.ts", "bench/**/*.ts"],
    languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true } },
    plugins: { "@typescript-eslint": tseslint.plugin },
    rules: {
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          // node:test's describe/it return promises the runner itself awaits.
          allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["describe", "it", "test", "suite"] }],
        },
      ],
      // A promise handed to a place that ignores what it returns (an event listener, a timer, a
      // callback typed void) drops its rejection: say what happens to it instead.
      "@typescript-eslint/no-misused-promises": "error",
      // A switch over one of the project's unions (states, outcomes, dispositions) names every member,
      // so a new member is handled wherever it matters.
      "@typescript-eslint/switch-exhaustiveness-check": [
        "error",
        { considerDefaultExhaustiveForUnions: false, requireDefaultForNonUnion: false },
      ],
    },
  },
  {
    files: ["src/**/*.ts"],
    ignores: ["src/config/**"],
    rules: {
      "no-restricted-properties": [
        "error",
        { object: "process", property: "env", message: "Only src/config/ reads process.env." },
      ],
    },
  },
  ...importArrows(),
);
