/**
 * The requester's client in Node: VerimlClientCore (operator/src/client-core.ts, shared with the web app)
 * with builds read from the model's artifact URI (fetched into a cache and checked, operator/src/artifacts.ts)
 * or from a directory.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Provider, Signer } from "ethers";
import type { Logger } from "pino";
import type { IntGraph } from "../../verifier-gen/src/intgraph.js";
import { fetchArtifacts, type ArtifactOptions } from "./artifacts.js";
import { VerimlClientCore, type BuildFetcher, type FetchedBuild } from "./client-core.js";
import { OperatorError } from "./errors.js";

export * from "./client-core.js";

/** The build in directory `dir` (manifest.json and intgraph.json), unchecked. */
export function readBuildDirectory(dir: string): FetchedBuild {
  try {
    return {
      location: dir,
      manifest: JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8")) as unknown,
      graph: JSON.parse(readFileSync(path.join(dir, "intgraph.json"), "utf8")) as IntGraph,
    };
  } catch (error) {
    throw new OperatorError(`cannot read the model's build in ${dir}`, { cause: error });
  }
}

/** A fetcher that reads every model's build from `dir` (the CLI's --artifacts). */
export const fromDirectory =
  (dir: string): BuildFetcher =>
  () =>
    Promise.resolve(readBuildDirectory(dir));

export class VerimlClient extends VerimlClientCore {
  /**
   * `runner`: a signer to pay and act, or a provider alone to read (models, quote, show). `artifacts`: where
   * builds fetched from http(s) or ipfs artifact URIs are cached (default .veriml-cache).
   */
  constructor(
    marketAddress: string,
    runner: Signer | Provider,
    log: Logger,
    artifacts: Omit<ArtifactOptions, "log"> = { cacheDir: ".veriml-cache" },
  ) {
    super(marketAddress, runner, log, async (model) =>
      readBuildDirectory(await fetchArtifacts(model.artifactURI, model.modelHash, { ...artifacts, log })),
    );
  }
}
