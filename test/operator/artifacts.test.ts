// Fetching a model's build from its artifact URI: file:, http(s): and ipfs:// through a gateway, checked
// against the registered commitment and the manifest's digests; a swapped model, a tampered file, a file
// outside the build and an unavailable host each get their own error, and nothing half-fetched is used.
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import {
  ArtifactError,
  ArtifactUnavailableError,
  cacheDirOf,
  fetchArtifacts,
  httpBaseOf,
} from "../../operator/src/artifacts.js";
import { classify } from "../../operator/src/chain/errors.js";
import { rejectionOf } from "../helpers/errors.js";
import { serveDirectory, type StaticServer } from "../helpers/static-server.js";

const IRIS = "models/build/iris_mlp";
const manifestOf = async (dir: string) =>
  JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8")) as {
    modelHash: string;
    artifacts: Record<string, string>;
  };

describe("operator/artifacts", function () {
  this.timeout(60_000);
  let work: string;
  let host: string;
  let server: StaticServer;
  let modelHash: string;

  beforeEach(async () => {
    work = await mkdtemp(path.join(tmpdir(), "veriml-artifacts-"));
    host = path.join(work, "host");
    await cp(IRIS, host, { recursive: true });
    server = await serveDirectory(host);
    modelHash = (await manifestOf(IRIS)).modelHash;
  });
  afterEach(async () => {
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  it("uses a file: build in place once its graph commits to the registered modelHash", async () => {
    expect(await fetchArtifacts(`file://${path.resolve(IRIS)}`, modelHash, { cacheDir: work })).to.equal(
      path.resolve(IRIS),
    );
    const other = (await manifestOf("models/build/diabetes_relu")).modelHash;
    const error = await rejectionOf(fetchArtifacts(`file:${IRIS}`, other, { cacheDir: work }));
    expect(error).to.be.instanceOf(ArtifactError);
    expect(error.message).to.include(`not of the registered ${other}`);
  });

  it("downloads an http build into the cache, checks every file, and reuses it without fetching again", async () => {
    const cacheDir = path.join(work, "cache");
    const dir = await fetchArtifacts(`${server.url}/`, modelHash, { cacheDir });
    expect(dir).to.equal(cacheDirOf(cacheDir, `${server.url}/`, modelHash));
    const { artifacts } = await manifestOf(IRIS);
    expect(Object.keys(artifacts)).to.include.members(["intgraph.json", "model.zkey", "circuit/model_js/model.wasm"]);
    for (const file of Object.keys(artifacts)) {
      expect(await readFile(path.join(dir, file))).to.deep.equal(await readFile(path.join(IRIS, file)));
    }
    const fetched = server.requests.length;
    expect(await fetchArtifacts(`${server.url}/`, modelHash, { cacheDir })).to.equal(dir);
    expect(server.requests.length).to.equal(fetched);
  });

  it("reaches ipfs:// URIs through the configured gateway, and refuses them without one", async () => {
    const uri = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
    expect(httpBaseOf(uri, "http://gw:8080/")).to.equal(
      "http://gw:8080/ipfs/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/",
    );
    const dir = await fetchArtifacts(uri, modelHash, { cacheDir: path.join(work, "cache"), ipfsGateway: server.url });
    expect(server.requests[0]).to.match(/^\/ipfs\/bafy[a-z0-9]+\/manifest\.json$/);
    expect((await manifestOf(dir)).modelHash).to.equal(modelHash);
    const error = await rejectionOf(fetchArtifacts(uri, modelHash, { cacheDir: path.join(work, "c2") }));
    expect(error.message).to.include("needs an IPFS gateway");
  });

  it("refuses a tampered file, a swapped model and a path outside the build, leaving nothing in the cache", async () => {
    const cacheDir = path.join(work, "cache");
    // The proving key altered: its digest is not the manifest's.
    const zkey = path.join(host, "model.zkey");
    const bytes = await readFile(zkey);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    await writeFile(zkey, bytes);
    const tampered = await rejectionOf(fetchArtifacts(`${server.url}/`, modelHash, { cacheDir }));
    expect(tampered).to.be.instanceOf(ArtifactError);
    expect(tampered.message).to.match(/model\.zkey: sha256 [0-9a-f]{64}, the manifest lists/);
    await cp(path.join(IRIS, "model.zkey"), zkey);
    // Another model's graph with digests to match: the commitment, not the manifest, decides.
    const other = (await manifestOf("models/build/diabetes_relu")).modelHash;
    const swapped = await rejectionOf(fetchArtifacts(`${server.url}/`, other, { cacheDir }));
    expect(swapped.message).to.include(`not of the registered ${other}`);
    // A manifest naming a file outside the build.
    const manifest = await manifestOf(host);
    manifest.artifacts["../../etc/passwd"] = "00";
    await writeFile(path.join(host, "manifest.json"), JSON.stringify(manifest));
    const escaped = await rejectionOf(fetchArtifacts(`${server.url}/`, modelHash, { cacheDir }));
    expect(escaped.message).to.include("a file outside the build");
    expect((await readdir(cacheDir)).filter((f) => !f.startsWith("."))).to.deep.equal([]);
    expect(await readdir(cacheDir)).to.deep.equal([]);
  });

  it("refuses manifests that name the manifest itself, escape the build or the host, or leave a served file unlisted", async () => {
    const original = await manifestOf(host);
    for (const name of [
      "manifest.json",
      "%2e%2e/x",
      "http://evil.example/x",
      "a/../../x",
      "/etc/passwd",
      "a\\..\\x",
      "C:x",
    ]) {
      await writeFile(
        path.join(host, "manifest.json"),
        JSON.stringify({ ...original, artifacts: { ...original.artifacts, [name]: "00" } }),
      );
      const error = await rejectionOf(fetchArtifacts(`${server.url}/`, modelHash, { cacheDir: path.join(work, "c") }));
      expect(error.message, name).to.include("a file outside the build");
    }
    const { "model.zkey": _zkey, ...withoutKey } = original.artifacts;
    await writeFile(path.join(host, "manifest.json"), JSON.stringify({ ...original, artifacts: withoutKey }));
    const unlisted = await rejectionOf(fetchArtifacts(`${server.url}/`, modelHash, { cacheDir: path.join(work, "c") }));
    expect(unlisted.message).to.include("lists no digest for model.zkey");
    await writeFile(path.join(host, "manifest.json"), "{ not json");
    const broken = await rejectionOf(fetchArtifacts(`${server.url}/`, modelHash, { cacheDir: path.join(work, "c") }));
    expect(broken).to.be.instanceOf(ArtifactError);
    expect(classify(broken).kind).to.equal("permanent");
  });

  it("keeps a build per (modelHash, URI), refetches a damaged cached copy, and caps the bytes a host may send", async () => {
    const cacheDir = path.join(work, "cache");
    expect(cacheDirOf(cacheDir, "https://a/", modelHash)).to.not.equal(cacheDirOf(cacheDir, "https://b/", modelHash));
    const dir = await fetchArtifacts(`${server.url}/`, modelHash, { cacheDir });
    await writeFile(path.join(dir, "model.zkey"), "damaged");
    expect(await fetchArtifacts(`${server.url}/`, modelHash, { cacheDir })).to.equal(dir);
    expect(await readFile(path.join(dir, "model.zkey"))).to.deep.equal(await readFile(path.join(IRIS, "model.zkey")));
    expect((await readdir(cacheDir)).some((f) => f.includes(".damaged-"))).to.equal(true);
    const capped = await rejectionOf(
      fetchArtifacts(`${server.url}/`, modelHash, { cacheDir: path.join(work, "small"), maxBytes: 10_000 }),
    );
    expect(capped.message).to.include("larger than the 10000 bytes allowed");
  });

  it("tells an unavailable host (retried) from a missing file (not)", async () => {
    server.failWith = 503;
    const down = await rejectionOf(fetchArtifacts(`${server.url}/`, modelHash, { cacheDir: path.join(work, "c") }));
    expect(down).to.be.instanceOf(ArtifactUnavailableError);
    expect(classify(down).kind).to.equal("transient");
    server.failWith = 404;
    const missing = await rejectionOf(fetchArtifacts(`${server.url}/`, modelHash, { cacheDir: path.join(work, "c") }));
    expect(missing).to.be.instanceOf(ArtifactError);
    expect(classify(missing).kind).to.equal("permanent");
    const unsupported = await rejectionOf(fetchArtifacts("ftp://x/y", modelHash, { cacheDir: work }));
    expect(unsupported.message).to.include("unsupported artifact URI");
  });
});
