import { open, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { getBytes, keccak256 } from "ethers";
import type { IntGraph } from "../../../verifier-gen/src/intgraph.js";
import { decodeInputBytes } from "../../../verifier-gen/src/encoding.js";
import { BadInputError } from "../errors.js";
import type { Job } from "../store.js";

/**
 * Where `file:` inputs may come from. A requester chooses the URI, so by default none are read: a URI
 * naming /dev/zero, a FIFO or a private file must not stall the operator (and make it miss the claims it
 * holds) or leak through an output. An operator that stages inputs locally names the directory.
 */
export interface InputPolicy {
  /** Directory `file:` URIs must resolve inside (symlinks followed); unset: `file:` refused. */
  fileRoot?: string;
  /** Largest input read from a URI, bytes. */
  maxBytes: number;
}

let policy: InputPolicy = { maxBytes: 16 * 1024 * 1024 };

/** Sets the process-wide input policy (the runtime calls it once from the operator config). */
export function configureInputs(next: Partial<InputPolicy>): void {
  policy = { ...policy, ...next };
}

async function readFileInput(uri: string): Promise<Uint8Array> {
  if (policy.fileRoot === undefined) throw new BadInputError("file: inputs are disabled (no inputFileRoot)");
  let file: string;
  let root: string;
  try {
    root = await realpath(policy.fileRoot);
    file = await realpath(fileURLToPath(uri));
  } catch (cause) {
    throw new BadInputError(`cannot read input ${uri}`, { cause });
  }
  if (path.relative(root, file).startsWith("..") || path.isAbsolute(path.relative(root, file))) {
    throw new BadInputError(`input ${uri} is outside the input directory`);
  }
  // Checked before opening: opening a FIFO would block.
  const before = await stat(file).catch((cause: unknown) => {
    throw new BadInputError(`cannot read input ${uri}`, { cause });
  });
  if (!before.isFile()) throw new BadInputError(`input ${uri} is not a regular file`);
  const handle = await open(file, "r").catch((cause: unknown) => {
    throw new BadInputError(`cannot read input ${uri}`, { cause });
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new BadInputError(`input ${uri} is not a regular file`);
    if (stat.size > policy.maxBytes) throw new BadInputError(`input ${uri} exceeds ${policy.maxBytes} bytes`);
    return new Uint8Array(await handle.readFile());
  } finally {
    await handle.close();
  }
}

/**
 * The request's input bytes: inline from the RequestCreated event, or fetched from its URI
 * (`data:` base64 or hex, or `file:` inside the configured input directory), and always checked against
 * the on-chain input hash.
 */
export async function resolveInput(job: Pick<Job, "input" | "inputHash" | "inputURI">): Promise<Uint8Array> {
  let bytes: Uint8Array;
  if (job.input !== "0x" && job.input !== "") {
    bytes = getBytes(job.input);
  } else if (job.inputURI.startsWith("data:")) {
    if (job.inputURI.length > 2 * policy.maxBytes) throw new BadInputError("data: input too large");
    const [meta, payload = ""] = job.inputURI.slice(5).split(",", 2);
    bytes = meta?.endsWith(";base64") ? Uint8Array.from(Buffer.from(payload, "base64")) : getBytes(payload);
  } else if (job.inputURI.startsWith("file:")) {
    bytes = await readFileInput(job.inputURI);
  } else {
    throw new BadInputError(`unsupported input URI ${JSON.stringify(job.inputURI.slice(0, 80))}`);
  }
  const hash = keccak256(bytes);
  if (hash !== job.inputHash) throw new BadInputError(`input hash mismatch: request ${job.inputHash}, data ${hash}`);
  return bytes;
}

/**
 * Tensor 0 of the model for a request's input bytes: clamp(decode(bytes), lo, hi) with the model's input
 * encoding, exactly as the zk verifier and the optimistic one-step read it (verifier-gen/src/inputbytes.ts).
 */
export function inputTensor(graph: IntGraph, bytes: Uint8Array): number[] {
  try {
    return decodeInputBytes(graph, bytes);
  } catch (cause) {
    throw new BadInputError((cause as Error).message, { cause });
  }
}
