#!/usr/bin/env node
// Entry point of the `veriml` bin: runs the TypeScript CLI through tsx (Node >= 22).
import { register } from "tsx/esm/api";

// node:sqlite (the operator's store) is stable in use but still flagged experimental in Node 22;
// keep that one notice out of the structured logs, pass every other warning through.
process.removeAllListeners("warning");
process.on("warning", (warning) => {
  if (warning.name === "ExperimentalWarning" && /SQLite/.test(warning.message)) return;
  process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

register();
await import("../src/cli.ts");
