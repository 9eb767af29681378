#!/usr/bin/env node
// Entry point of the `veriml` bin: runs the TypeScript CLI through tsx (Node >= 22).
import { register } from "tsx/esm/api";

register();
await import("../src/cli.ts");
