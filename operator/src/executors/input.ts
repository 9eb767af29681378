import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { getBytes, keccak256 } from "ethers";
import type { IntGraph } from "../../../verifier-gen/src/intgraph.js";
import { decodeInputBytes } from "../../../verifier-gen/src/encoding.js";
import { BadInputError } from "../errors.js";
import type { Job } from "../store.js";

/**
 * The request's input bytes: inline from the RequestCreated event, or fetched from its URI
 * (`data:` base64 or hex, or `file:`), and always checked against the on-chain input hash.
 */
export async function resolveInput(job: Pick<Job, "input" | "inputHash" | "inputURI">): Promise<Uint8Array> {
  let bytes: Uint8Array;
  if (job.input !== "0x" && job.input !== "") {
    bytes = getBytes(job.input);
  } else if (job.inputURI.startsWith("data:")) {
    const [meta, payload = ""] = job.inputURI.slice(5).split(",", 2);
    bytes = meta?.endsWith(";base64") ? Uint8Array.from(Buffer.from(payload, "base64")) : getBytes(payload);
  } else if (job.inputURI.startsWith("file:")) {
    try {
      bytes = new Uint8Array(await readFile(fileURLToPath(job.inputURI)));
    } catch (cause) {
      throw new BadInputError(`cannot read input ${job.inputURI}`, { cause });
    }
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
