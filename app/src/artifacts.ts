/**
 * A registered model's build fetched by the page: `file:` artifact URIs through the app server (which serves
 * only build files under the project's model directories), http(s) directly, ipfs:// through the configured
 * gateway. Nothing fetched is trusted: the client checks the integer graph against the registered modelHash
 * (checkBuild), and other files against the sha256 the manifest lists.
 */
import type { BuildFetcher, BuildManifest } from "../../operator/src/client-core.js";
import type { IntGraph } from "../../verifier-gen/src/intgraph.js";
import type { AppConfig } from "../server/server.js";

export class ArtifactFetchError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ArtifactFetchError";
  }
}

/** The URL of file `name` of the build at `artifactURI`. */
export function buildFileUrl(config: AppConfig, artifactURI: string, name: string): string {
  if (artifactURI.startsWith("file://")) {
    const dir = decodeURIComponent(artifactURI.slice("file://".length)).replace(/\/+$/, "");
    if (!dir.startsWith("/")) throw new ArtifactFetchError(`artifact URI ${artifactURI} is not an absolute file: path`);
    return `/api/file?path=${encodeURIComponent(`${dir}/${name}`)}`;
  }
  if (artifactURI.startsWith("http://") || artifactURI.startsWith("https://")) {
    return new URL(name, artifactURI.endsWith("/") ? artifactURI : `${artifactURI}/`).href;
  }
  if (artifactURI.startsWith("ipfs://")) {
    if (config.ipfsGateway === undefined) throw new ArtifactFetchError(`no IPFS gateway configured for ${artifactURI}`);
    const rest = artifactURI.slice("ipfs://".length).replace(/\/+$/, "");
    return `${config.ipfsGateway.replace(/\/+$/, "")}/ipfs/${rest}/${name}`;
  }
  throw new ArtifactFetchError(`artifact URI ${artifactURI || "(empty)"} has no scheme the page can fetch`);
}

async function fetchBytes(url: string): Promise<Uint8Array<ArrayBuffer>> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (cause) {
    throw new ArtifactFetchError(`cannot fetch ${url}`, { cause });
  }
  if (!response.ok) throw new ArtifactFetchError(`${url}: ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

const fetchText = async (url: string): Promise<string> => new TextDecoder().decode(await fetchBytes(url));

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new ArtifactFetchError(`${what} is not JSON`, { cause });
  }
}

/** The client's build fetcher for the page: manifest.json and intgraph.json of the artifact URI. */
export function httpBuildFetcher(config: AppConfig): BuildFetcher {
  return async ({ artifactURI }) => {
    const manifestUrl = buildFileUrl(config, artifactURI, "manifest.json");
    const [manifest, graph] = await Promise.all([
      fetchText(manifestUrl).then((t) => parseJson(t, manifestUrl)),
      fetchText(buildFileUrl(config, artifactURI, "intgraph.json")).then(
        (t) => parseJson(t, "intgraph.json") as IntGraph,
      ),
    ]);
    return { location: artifactURI, manifest, graph };
  };
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** File `name` of a build, refused unless its sha256 is the one the manifest lists for it. */
export async function fetchBuildFile(
  config: AppConfig,
  artifactURI: string,
  name: string,
  manifest: BuildManifest,
): Promise<string> {
  const expected = (manifest.artifacts as Record<string, string> | undefined)?.[name];
  if (expected === undefined) throw new ArtifactFetchError(`the manifest lists no sha256 for ${name}`);
  const bytes = await fetchBytes(buildFileUrl(config, artifactURI, name));
  const actual = await sha256Hex(bytes);
  if (actual !== expected) {
    throw new ArtifactFetchError(`${name} of ${artifactURI} has sha256 ${actual}, the manifest says ${expected}`);
  }
  return new TextDecoder().decode(bytes);
}
