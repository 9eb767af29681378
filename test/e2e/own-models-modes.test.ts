// The PyTorch fixtures in zk, optimistic and sampling mode, end to end over JSON-RPC, the way the README
// tells a user to do it: the suite deployed to a `hardhat node` with Hardhat Ignition, each build
// registered in the three modes by scripts/register-model.ts (through Ignition), two operator processes
// that read the market from Ignition's deployment record and fetch the builds from their artifact URIs
// (one a file: URI, one served over HTTP), one signing from an encrypted keystore; requests paid from the
// CLI with floats, by model name, and the decoded result read from the CLI and from a consumer contract.
// Optimistic: the CLI moves the local chain's clock past the window. Sampling at p = 100 %: the second
// operator recomputes the output blind, the commitments match, the result stands.
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, hexlify, parseEther } from "ethers";
import { devAccount } from "../../scripts/lib/accounts.js";
import { startHardhatNode } from "../../scripts/lib/hardhat-node.js";
import { startOperatorProcess, stopProcess } from "../../scripts/lib/operator-process.js";
import { readSuiteDeployment, type SuiteAddresses } from "../../operator/src/deployment.js";
import {
  InferenceMarket__factory,
  PredictedParameter__factory,
  SamplingModule__factory,
  StakingVault__factory,
  type InferenceMarket,
} from "../../types/ethers-contracts/index.js";
import { runInt } from "../../verifier-gen/src/intgraph.js";
import { interfaceOf, quantizeFloatInput } from "../../verifier-gen/src/interface.js";
import { loadModelDir } from "../../verifier-gen/src/pipeline.js";
import { veriml } from "../helpers/cli.js";
import { hardhat } from "../helpers/hardhat.js";
import { serveDirectory, type StaticServer } from "../helpers/static-server.js";
import { fixtureBuild } from "../../scripts/lib/fixtures.js";
import { terminateSnarkjs } from "../../verifier-gen/src/pipeline.js";

// The transformer's build is made on first use (scripts/lib/fixtures.ts): its proving key is too large to commit.
const MODELS = [
  { name: "iris_mlp", kind: "logits", dir: "models/build/iris_mlp" },
  { name: "diabetes_relu", kind: "values", dir: "models/build/diabetes_relu" },
  { name: "wine_probs", kind: "probabilities", dir: "models/build/wine_probs" },
  { name: "digits_vit2", kind: "logits", dir: ".veriml/builds/digits_vit2" },
] as const;
const MODES = ["zk", "optimistic", "sampling"] as const;

interface CliOutcome {
  status: string;
  decoded: { kind: string; quantized: string[]; values: number[]; label?: number } | null;
  steps: { step: string; gasUsed: string }[];
  latencyMs: number;
}

describe("e2e: PyTorch fixtures deployed with Ignition, served in zk, optimistic and sampling mode", function () {
  this.timeout(900_000);
  let node: ChildProcess;
  let provider: JsonRpcProvider;
  let rpcUrl: string;
  let suite: SuiteAddresses;
  let market: InferenceMarket;
  let workDir: string;
  let artifactHost: StaticServer;
  const deploymentId = `e2e-own-models-${process.pid}`;
  const deploymentDir = path.join("ignition", "deployments", deploymentId);
  const operators: ChildProcess[] = [];
  const ids = new Map<string, bigint>();
  const registerOutput = new Map<string, string>();

  before(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), "veriml-own-modes-"));
    ({ child: node, rpcUrl } = await startHardhatNode());
    provider = new JsonRpcProvider(rpcUrl, undefined, { cacheTimeout: -1 });
    // Operator 3 signs from an encrypted keystore made with the CLI; operator 4 from the environment.
    const keystore = path.join(workDir, "operator-3.keystore.json");
    const passwordFile = path.join(workDir, "password");
    await writeFile(passwordFile, "correct horse battery staple\n");
    // Independent of each other, so concurrent: the transformer's build (about a minute when not cached), the
    // keystore and the suite's deployment.
    const [, made] = await Promise.all([
      fixtureBuild("digits_vit2"),
      veriml(["keystore", "import", keystore, "--password-file", passwordFile], null, null, {
        VERIML_IMPORT_KEY: devAccount(3, provider).privateKey,
      }),
      (async () => {
        artifactHost = await serveDirectory("models/build");
        // The default build profile, which `hardhat test` has just built: Ignition's default, the production
        // profile (the same settings, isolated builds), would recompile every contract with the WebAssembly solc
        // (about two minutes) and leave artifacts that the next `hardhat run` recompiles again.
        await hardhat(
          [
            "ignition",
            "deploy",
            "ignition/modules/Suite.ts",
            "--network",
            "localhost",
            "--deployment-id",
            deploymentId,
            "--build-profile",
            "default",
          ],
          { LOCALHOST_RPC_URL: rpcUrl },
        );
      })(),
    ]);
    expect(made.ok, made.stderr).to.equal(true);
    expect(JSON.parse(made.stdout).address).to.equal(devAccount(3, provider).address);
    suite = await readSuiteDeployment(deploymentDir);
    market = InferenceMarket__factory.connect(suite.market, provider);
    const parameters = path.join(workDir, "registration.json");
    // Every request sampled, so that the test sees the blind recomputation; the rest are the defaults.
    await writeFile(parameters, JSON.stringify({ sampling: { sampleBps: 10_000 } }));
    for (const { name, dir } of MODELS) {
      const stdout = await hardhat(["run", "--network", "localhost", "scripts/register-model.ts"], {
        LOCALHOST_RPC_URL: rpcUrl,
        VERIML_BUILD: dir,
        VERIML_MODES: MODES.join(","),
        VERIML_REGISTRATION: parameters,
        VERIML_DEPLOYMENT_ID: deploymentId,
        // One build is fetched over HTTP (checked against its registered commitment), one from its directory.
        ...(name === "diabetes_relu" ? { VERIML_ARTIFACT_URI: `${artifactHost.url}/${name}/` } : {}),
      });
      registerOutput.set(name, stdout);
      ids.set(name, BigInt(/model \S+: id (\d+)/.exec(stdout)![1]!));
    }
    for (const account of [3, 4]) {
      const { child } = await startOperatorProcess({
        workDir: path.join(workDir, `operator-${account}`),
        rpcUrl,
        ...(account === 3
          ? { env: { VERIML_OPERATOR_KEYSTORE: keystore, VERIML_OPERATOR_PASSWORD_FILE: passwordFile } }
          : { privateKey: devAccount(account, provider).privateKey }),
        // No artifacts and no market: the registered artifact URIs and Ignition's record.
        models: [...ids.values()].map((modelId) => ({ modelId, modes: [0, 1, 2] })),
        stakeWei: parseEther("10"),
        roles: ["worker", "sampler"],
        extra: { deployment: deploymentDir, artifactCacheDir: path.join(workDir, `cache-${account}`) },
      });
      operators.push(child);
    }
    const vault = StakingVault__factory.connect(suite.vault, provider);
    const until = Date.now() + 180_000;
    for (const modelId of ids.values()) {
      while ((await vault.serverCount(modelId, 0)) < 2n) {
        if (Date.now() > until) throw new Error("operators did not start serving");
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  });
  after(async () => {
    await terminateSnarkjs();
    for (const child of operators) await stopProcess(child, "SIGTERM");
    provider?.destroy();
    if (node) await stopProcess(node, "SIGKILL");
    await artifactHost?.close();
    await rm(workDir, { recursive: true, force: true });
    await rm(deploymentDir, { recursive: true, force: true });
  });

  const cli = (args: string[], key: string | null = devAccount(2, provider).privateKey) =>
    veriml(args, { rpcUrl, deployment: deploymentId }, key, { VERIML_CACHE: path.join(workDir, "cli-cache") });

  it("registered each build once in the three modes, recorded next to the suite in Ignition's deployment", async () => {
    const recorded = JSON.parse(readFileSync(path.join(deploymentDir, "deployed_addresses.json"), "utf8")) as Record<
      string,
      string
    >;
    expect(recorded).to.have.property("VerimlVerifier_iris_mlp#IrisMlpVerifier");
    expect(recorded).to.have.property("VerimlVerifier_diabetes_relu#DiabetesReluVerifier");
    const listed = await cli(["models", "--json"], null);
    expect(listed.ok, listed.stderr).to.equal(true);
    const rows = JSON.parse(listed.stdout) as {
      id: string;
      name: string;
      modes: string;
      output: string;
      input: string;
    }[];
    expect(rows.map((r) => [r.name, r.modes, r.output])).to.deep.equal([
      ["iris_mlp", "zk,optimistic,sampling", "logits[3]"],
      ["diabetes_relu", "zk,optimistic,sampling", "values[1]"],
      ["wine_probs", "zk,optimistic,sampling", "probabilities[3]"],
      ["digits_vit2", "zk,optimistic,sampling", "logits[10]"],
    ]);
    expect(rows[0]!.input).to.match(/^\[1x4\] x 0\.0207/);
    // The HTTP-hosted build was fetched by the operators (every served file, each checked by sha256).
    expect(artifactHost.requests).to.include.members(["/diabetes_relu/manifest.json", "/diabetes_relu/model.zkey"]);
  });

  it("re-running a registration sends nothing and reports the same model", async () => {
    const before = await provider.getTransactionCount(devAccount(0, provider).address);
    const again = await hardhat(["run", "--network", "localhost", "scripts/register-model.ts"], {
      LOCALHOST_RPC_URL: rpcUrl,
      VERIML_BUILD: "models/build/iris_mlp",
      VERIML_MODES: MODES.join(","),
      VERIML_REGISTRATION: path.join(workDir, "registration.json"),
      VERIML_DEPLOYMENT_ID: deploymentId,
    });
    expect(again).to.include(`id ${ids.get("iris_mlp")}`);
    expect(await provider.getTransactionCount(devAccount(0, provider).address)).to.equal(before);
  });

  it("refuses, before sending anything, a registration whose config a module would refuse", async () => {
    const before = await provider.getTransactionCount(devAccount(0, provider).address);
    const bad = path.join(workDir, "bad.json");
    // An arbitrator the sampling module does not allow.
    await writeFile(bad, JSON.stringify({ sampling: { arbitrator: devAccount(9, provider).address } }));
    const error = await hardhat(["run", "--network", "localhost", "scripts/register-model.ts"], {
      LOCALHOST_RPC_URL: rpcUrl,
      VERIML_BUILD: "models/build/iris_mlp",
      VERIML_MODES: "sampling",
      VERIML_REGISTRATION: bad,
      VERIML_DEPLOYMENT_ID: deploymentId,
      VERIML_REGISTRATION_ID: "iris_bad_arbitrator",
    }).then(
      () => null,
      (e: Error) => e.message,
    );
    expect(error).to.match(/the registry refuses this registration: SamplingModule[A-Za-z]+\(/);
    expect(await provider.getTransactionCount(devAccount(0, provider).address)).to.equal(before);
  });

  for (const { name, kind, dir } of MODELS) {
    for (const mode of MODES) {
      it(`${name} in ${mode} mode: floats in from the CLI, the integer model's ${kind} out, decoded`, async () => {
        const model = loadModelDir(dir);
        const data = JSON.parse(readFileSync(`models/pytorch/${name}.json`, "utf8")) as {
          inputs: number[][];
          labels?: number[];
        };
        const x = data.inputs[1]!;
        const result = await cli([
          "request",
          "--json",
          "--model",
          name,
          "--mode",
          mode,
          "--values",
          x.join(","),
          "--timeout",
          "300",
          "--move-clock",
        ]);
        expect(result.ok, result.stderr).to.equal(true);
        const outcome = JSON.parse(result.stdout.slice(result.stdout.indexOf("{"))) as CliOutcome;
        expect(outcome.status).to.equal("Finalized");
        const expected = runInt(model.graph, quantizeFloatInput(interfaceOf(model.manifest), x).q).output;
        expect(outcome.decoded!.quantized.map(Number)).to.deep.equal(Array.from(expected));
        expect(outcome.decoded!.kind).to.equal(kind);
        if (kind !== "values") expect(outcome.decoded!.label).to.equal(data.labels![1]);
        expect(outcome.steps.map((s) => s.step)).to.include.members(
          mode === "zk" ? ["create", "fulfill"] : ["create", "claim", "submit", "finalize"],
        );
        expect(outcome.latencyMs).to.be.greaterThan(0);
        // Progress lines on stderr: the states the request went through.
        // (A request may be claimed before the first poll: its first state seen can be any of these.)
        expect(result.stderr).to.match(/request \d+: (Open|Claimed|Submitted)/);
        expect(result.stderr).to.match(/: Finalized/);
        if (mode === "optimistic") expect(result.stderr).to.match(/challenge window ends/);
        const requestId = await market.requestCount();
        if (mode === "sampling") {
          // Sampled (p = 100 %): the other operator recomputed blind and both revealed the same output.
          const job = await SamplingModule__factory.connect(suite.sampling, provider).getJob(requestId);
          expect(job.sampled).to.equal(true);
          expect(job.sampler).to.not.equal(job.operator);
          expect(job.samplerOutputHash).to.equal(job.operatorOutputHash);
        }
        const shown = await cli(["show", String(requestId)], null);
        expect(shown.ok, shown.stderr).to.equal(true);
        const show = JSON.parse(shown.stdout) as { mode: string; input: { values: number[] }; decoded: unknown };
        expect(show.mode).to.equal(mode);
        expect(show.decoded).to.deep.equal(outcome.decoded);
        // The input as settled: each value within half a quantization step of what was asked.
        show.input.values.forEach((v, i) =>
          expect(Math.abs(v - x[i]!)).to.be.lessThanOrEqual(model.manifest.input.scale / 2 + 1e-12),
        );
      });
    }
  }

  it("a consumer contract reads the verified regression value, dequantized with the committed scale", async () => {
    const model = loadModelDir("models/build/diabetes_relu");
    const i = interfaceOf(model.manifest);
    const modelId = ids.get("diabetes_relu")!;
    const owner = devAccount(5, provider);
    const SCALE_DEN = 10n ** 18n;
    const scaleNum = BigInt(Math.round(i.output.scale[0]! * 1e18));
    const consumer = await new PredictedParameter__factory(owner).deploy(
      suite.market,
      modelId,
      0,
      await market.termsHashOf(modelId, 0),
      model.manifest.modelHash,
      i.input.shape.reduce((a, b) => a * b, 1) * i.input.encoding.bytes,
      scaleNum,
      SCALE_DEN,
      -(10n ** 30n),
      10n ** 30n,
    );
    await consumer.waitForDeployment();
    const data = JSON.parse(readFileSync("models/pytorch/diabetes_relu.json", "utf8")) as { inputs: number[][] };
    const { q, bytes } = quantizeFloatInput(i, data.inputs[2]!);
    const [price, fee] = await market.quote(modelId, 0, "0x0000000000000000000000000000000000000000");
    const block = await provider.getBlock("latest");
    await (await consumer.requestUpdate(hexlify(bytes), block!.timestamp + 3600, { value: price + fee })).wait();
    const requestId = await market.requestCount();
    const until = Date.now() + 120_000;
    while ((await consumer.parameter()).requestId !== requestId) {
      if (Date.now() > until) throw new Error("the consumer was never called back");
      await new Promise((r) => setTimeout(r, 300));
    }
    const [expected] = runInt(model.graph, q).output;
    const { value } = await consumer.parameter();
    expect(value).to.equal((BigInt(expected!) * scaleNum * 10n ** 18n) / SCALE_DEN);
    expect(registerOutput.get("diabetes_relu")).to.include("in zk, optimistic, sampling");
  });
});
