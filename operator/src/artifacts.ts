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
import { createReadStream, createWriteStream, existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import type { IntGraph } from "../../verifier-gen/src/intgraph.js";
import { modelCommitment } from "../../verifier-gen/src/merkle.js";
import { SERVED_FILES } from "../../verifier-gen/src/pipeline.js";
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
  /** Most bytes one build may take (every file together); a host serving more is refused. Default 8 GiB. */
  maxBytes?: number;
  log?: Logger;
}

/** sha256 of a file, streamed (proving keys can be larger than memory allows to read at once). */
async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * A manifest's file name, as a relative path of plain segments: no "..", no absolute or drive path, no
 * URL, no escapes, and never the manifest itself (which would replace the list being checked).
 */
const SAFE_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
export function checkArtifactName(file: string): void {
  const segments = file.split("/");
  if (file === "manifest.json" || !segments.every((s) => SAFE_SEGMENT.test(s) && s !== "." && s !== "..")) {
    throw new ArtifactError(`the manifest lists a file outside the build (${JSON.stringify(file)})`);
  }
}

/** The cache directory of a build: one per (modelHash, URI), so a copycat's registration of the same hash never shares it. */
export function cacheDirOf(cacheDir: string, uri: string, modelHash: string): string {
  return path.join(
    cacheDir,
    `${modelHash.toLowerCase()}-${createHash("sha256").update(uri).digest("hex").slice(0, 16)}`,
  );
}

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
  if (requireDigests) {
    // Every file an operator serves from must be listed: an unlisted one would be used unchecked.
    const unlisted = SERVED_FILES.filter((f) => digests[f] === undefined);
    if (unlisted.length > 0) throw new ArtifactError(`${dir}/manifest.json lists no digest for ${unlisted.join(", ")}`);
  }
  for (const [file, digest] of Object.entries(digests)) {
    checkArtifactName(file);
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

async function download(
  url: string,
  file: string,
  timeoutMs: number,
  budget: { bytes: number; max: number },
): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "follow" });
  } catch (cause) {
    throw new ArtifactUnavailableError(`cannot fetch ${url}: ${(cause as Error).message}`, { cause });
  }
  // A redirect may stay on the host (a gateway's canonical path), never leave it.
  if (new URL(response.url || url).origin !== new URL(url).origin) {
    throw new ArtifactError(`${url} redirected to another host (${response.url})`);
  }
  if (response.status >= 500 || response.status === 429) {
    throw new ArtifactUnavailableError(`cannot fetch ${url}: HTTP ${response.status}`);
  }
  if (!response.ok || response.body === null) throw new ArtifactError(`cannot fetch ${url}: HTTP ${response.status}`);
  await mkdir(path.dirname(file), { recursive: true });
  const hash = createHash("sha256");
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      budget.bytes -= chunk.length;
      if (budget.bytes < 0) {
        done(new ArtifactError(`${url}: the build is larger than the ${budget.max} bytes allowed (maxBytes)`));
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(response.body as never), tap, createWriteStream(file));
  } catch (cause) {
    if (cause instanceof ArtifactError) throw cause;
    // Cut off or timed out mid-transfer: the host may do better next time.
    throw new ArtifactUnavailableError(`cannot fetch ${url}: ${(cause as Error).message}`, { cause });
  }
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
  const target = cacheDirOf(o.cacheDir, uri, modelHash);
  if (existsSync(path.join(target, "manifest.json"))) {
    try {
      await checkBuild(target, modelHash, true);
      return target;
    } catch (error) {
      // A damaged cached copy is set aside and fetched again, never served and never a dead end.
      o.log?.warn({ dir: target, reason: (error as Error).message }, "cached build fails its checks: fetching again");
      await rename(target, `${target}.damaged-${Date.now()}`);
    }
  }
  const base = httpBaseOf(uri, o.ipfsGateway);
  const timeoutMs = o.timeoutMs ?? 600_000;
  const max = o.maxBytes ?? 8 * 2 ** 30;
  const budget = { bytes: max, max };
  await mkdir(o.cacheDir, { recursive: true });
  const staging = await mkdtemp(path.join(o.cacheDir, ".fetch-"));
  try {
    o.log?.info({ uri, modelHash }, "fetching model artifacts");
    await download(new URL("manifest.json", base).href, path.join(staging, "manifest.json"), timeoutMs, budget);
    let manifest: { artifacts?: Record<string, string> };
    try {
      manifest = JSON.parse(await readFile(path.join(staging, "manifest.json"), "utf8")) as typeof manifest;
    } catch (cause) {
      throw new ArtifactError(`${uri}: manifest.json is not valid JSON`, { cause });
    }
    const digests = manifest.artifacts;
    if (digests === undefined) throw new ArtifactError(`${uri}: the manifest lists no artifact digests`);
    for (const file of Object.keys(digests)) checkArtifactName(file);
    for (const file of Object.keys(digests)) {
      const url = new URL(file, base).href;
      if (!url.startsWith(base)) throw new ArtifactError(`${uri}: ${file} resolves outside the build (${url})`);
      const actual = await download(url, path.join(staging, file), timeoutMs, budget);
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
