#!/usr/bin/env node
// Entry point of the `verifier-gen` bin: runs the TypeScript CLI through tsx (Node >= 22).
import { register } from "tsx/esm/api";

register();
await import("../cli.ts");
