/**
 * A model's build, fetched from its registered artifactURI into a local cache and checked before use:
 *
 * - `file:` URIs are used in place; `http(s):` URIs are downloaded; `ipfs://<cid>/<path>` goes through the
 *   configured gateway (`<gateway>/ipfs/<cid>/<path>`).
 * - The integer graph must commit to the registered modelHash (recomputed here, not read from the
 *   manifest): that is what the chain verifies against, so a host cannot swap the model.
 * - Every other file must match the sha256 the build's manifest lists for it (`artifacts`): a truncated
 *   or altered proving key or circuit would make the operator miss its deadline and lose stake.
 *
 * The cache holds one directory per modelHash; a download goes to a temporary directory first and is
 * renamed into place only once every check passed, so a half-fetched build is never used.
 */
import { createHash } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import type { IntGraph } from "../../verifier-gen/src/intgraph.js";
import { modelCommitment } from "../../verifier-gen/src/merkle.js";
import { OperatorError, TransientChainError } from "./errors.js";

/** The artifacts are not the registered model's, or the URI cannot be served: permanent. */
export class ArtifactError extends OperatorError {}

/** The artifact host did not answer, or answered 5xx/429: retried. */
export class ArtifactUnavailableError extends TransientChainError {}

export interface ArtifactOptions {
  /** Where fetched builds are kept, one directory per modelHash. */
  cacheDir: string;
  /** An IPFS HTTP gateway for ipfs:// URIs, e.g. http://127.0.0.1:8080. */
  ipfsGateway?: string | undefined;
  /** Per-file download timeout. */
  timeoutMs?: number;
  log?: Logger;
}

const sha256File = async (file: string): Promise<string> =>
  createHash("sha256")
    .update(await readFile(file))
    .digest("hex");

/** The local directory of a `file:` URI, or null for a remote one. */
export function localDirOf(uri: string): string | null {
  if (uri.startsWith("file://")) return uri.startsWith("file:///") ? fileURLToPath(uri) : uri.slice("file://".length);
  if (uri.startsWith("file:")) return uri.slice("file:".length);
  if (!uri.includes(":")) return uri;
  return null;
}

/** The HTTP(S) base URL a remote artifact URI is fetched from. */
export function httpBaseOf(uri: string, ipfsGateway: string | undefined): string {
  if (uri.startsWith("http://") || uri.startsWith("https://")) return uri.endsWith("/") ? uri : `${uri}/`;
  if (uri.startsWith("ipfs://")) {
    if (ipfsGateway === undefined) throw new ArtifactError(`${uri} needs an IPFS gateway (config "ipfsGateway")`);
    const rest = uri.slice("ipfs://".length).replace(/\/?$/, "/");
    return `${ipfsGateway.replace(/\/$/, "")}/ipfs/${rest}`;
  }
  throw new ArtifactError(`unsupported artifact URI ${uri} (file:, http(s): or ipfs://)`);
}

/** Checks that `dir` holds the build of `modelHash`: the graph's commitment, then each listed digest. */
export async function checkBuild(dir: string, modelHash: string, requireDigests: boolean): Promise<void> {
  let graph: IntGraph;
  let manifest: { artifacts?: Record<string, string> };
  try {
    manifest = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8")) as typeof manifest;
    graph = JSON.parse(await readFile(path.join(dir, "intgraph.json"), "utf8")) as IntGraph;
  } catch (cause) {
    throw new ArtifactError(`${dir} is not a readable verifier-gen build`, { cause });
  }
  let committed: string;
  try {
    committed = modelCommitment(graph).modelHash;
  } catch (cause) {
    throw new ArtifactError(`${dir}/intgraph.json is not a valid integer graph`, { cause });
  }
  // INVARIANT: an operator serves exactly the model whose commitment the chain verifies against.
  if (committed.toLowerCase() !== modelHash.toLowerCase()) {
    throw new ArtifactError(`${dir} is the build of ${committed}, not of the registered ${modelHash}`);
  }
  const digests = manifest.artifacts;
  if (digests === undefined) {
    if (requireDigests) throw new ArtifactError(`${dir}/manifest.json lists no artifact digests: cannot check them`);
    return;
  }
  for (const [file, digest] of Object.entries(digests)) {
    const target = path.join(dir, file);
    if (!existsSync(target)) {
      if (requireDigests) throw new ArtifactError(`${dir} lacks ${file}`);
      continue;
    }
    const actual = await sha256File(target);
    if (actual !== digest)
      throw new ArtifactError(`${file} of ${dir} has sha256 ${actual}, the manifest lists ${digest}`);
  }
}

async function download(url: string, file: string, timeoutMs: number): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (cause) {
    throw new ArtifactUnavailableError(`cannot fetch ${url}: ${(cause as Error).message}`, { cause });
  }
  if (response.status >= 500 || response.status === 429) {
    throw new ArtifactUnavailableError(`cannot fetch ${url}: HTTP ${response.status}`);
  }
  if (!response.ok || response.body === null) throw new ArtifactError(`cannot fetch ${url}: HTTP ${response.status}`);
  await mkdir(path.dirname(file), { recursive: true });
  const hash = createHash("sha256");
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(response.body as never), tap, createWriteStream(file));
  return hash.digest("hex");
}

/**
 * The local directory of the build registered as `modelHash` at `uri`, fetched into the cache if remote.
 * Refuses (ArtifactError) anything that is not that model's build.
 */
export async function fetchArtifacts(uri: string, modelHash: string, o: ArtifactOptions): Promise<string> {
  const local = localDirOf(uri);
  if (local !== null) {
    await checkBuild(local, modelHash, false);
    return local;
  }
  const target = path.join(o.cacheDir, modelHash.toLowerCase());
  if (existsSync(path.join(target, "manifest.json"))) {
    await checkBuild(target, modelHash, true);
    return target;
  }
  const base = httpBaseOf(uri, o.ipfsGateway);
  const timeoutMs = o.timeoutMs ?? 600_000;
  await mkdir(o.cacheDir, { recursive: true });
  const staging = await mkdtemp(path.join(o.cacheDir, ".fetch-"));
  try {
    o.log?.info({ uri, modelHash }, "fetching model artifacts");
    await download(new URL("manifest.json", base).href, path.join(staging, "manifest.json"), timeoutMs);
    const manifest = JSON.parse(await readFile(path.join(staging, "manifest.json"), "utf8")) as {
      artifacts?: Record<string, string>;
    };
    const digests = manifest.artifacts;
    if (digests === undefined) throw new ArtifactError(`${uri}: the manifest lists no artifact digests`);
    for (const file of Object.keys(digests)) {
      if (path.isAbsolute(file) || path.normalize(file).startsWith("..")) {
        throw new ArtifactError(`${uri}: the manifest lists a file outside the build (${file})`);
      }
      const actual = await download(new URL(file, base).href, path.join(staging, file), timeoutMs);
      if (actual !== digests[file])
        throw new ArtifactError(`${uri}${file}: sha256 ${actual}, the manifest lists ${digests[file]}`);
    }
    await checkBuild(staging, modelHash, true);
    await rename(staging, target);
    o.log?.info({ uri, modelHash, dir: target }, "model artifacts fetched and checked");
    return target;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
