import eslint from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      "artifacts/",
      "cache/",
      "types/",
      "coverage/",
      "**/*.js",
      "!eslint.config.js",
      "build/",
      ".cache/",
      ".veriml/",
      "deployments/",
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.strict,
  {
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // Library code logs through the logger it is given, never to the console.
    files: ["operator/**/*.ts", "verifier-gen/src/**/*.ts", "scripts/lib/**/*.ts"],
    rules: { "no-console": "error" },
  },
);
