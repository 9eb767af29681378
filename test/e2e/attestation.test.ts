// End to end over real JSON-RPC: a `hardhat node` process, the digits MLP registered, `verifier-gen attest`
// proving its accuracy on 32 held-out digits as its own process, `scripts/attest.ts` (a `hardhat run` process)
// deploying the BenchmarkRegistry, naming the attestation verifier and submitting, and the record read back and
// checked as a consumer checks it; a wrong count, another test set's commitment and another account's submission
// refused by the registry, wrong verifiers for the model refused when they are named, and a verifier of the
// model's owner's own key (accepted by the registry: the owner names it) refused by the consumer's check when the
// consumer holds another build (an owner that ships its own key in the build is caught only by the consumer not
// trusting the key's maker: test/contracts/attestation/BenchmarkRegistry.test.ts).
import { execFile, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { ContractFactory, JsonRpcProvider, keccak256, toBeHex } from "ethers";
import {
  BenchmarkRegistry__factory,
  ModelRegistry__factory,
  type BenchmarkRegistry,
} from "../../types/ethers-contracts/index.js";
import {
  datasetCommitment,
  emitAttestationVerifier,
  loadAttestation,
  loadTestSet,
  predict,
  readAttestationFile,
  samplesOf,
  type AttestationFile,
} from "../../verifier-gen/src/attestation.js";
import { loadModelDir, terminateSnarkjs } from "../../verifier-gen/src/pipeline.js";
import { devAccount } from "../../scripts/lib/accounts.js";
import {
  AttestationCheckError,
  attestArguments,
  checkAttestationBuildForChain,
  checkRecordedAttestation,
} from "../../scripts/lib/attestation.js";
import { compileVerifier } from "../../verifier-gen/src/compile.js";
import { forgeableKey } from "../../scripts/lib/forgeable-groth16.js";
import { BuildRefusedError } from "../../scripts/lib/zk.js";
import { DEFAULT_PARAMETERS, deploySuite } from "../../scripts/lib/deploy.js";
import { startHardhatNode } from "../../scripts/lib/hardhat-node.js";
import { stopProcess } from "../../scripts/lib/operator-process.js";
import { deployZkModule, registerZkModel } from "../../scripts/lib/zk.js";
import { expectRejection } from "../helpers/errors.js";
import { hardhat } from "../helpers/hardhat.js";

const run = promisify(execFile);
const BUILD = "models/build/digits-mlp";
const SAMPLES = 32;
/** The attestation circuit, built on first use and reused while it is unchanged (about 30 s to build). */
const ATTESTATION_BUILD = `.veriml/builds/digits-mlp-attestation-${SAMPLES}`;

async function verifierGen(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "verifier-gen/cli.ts", ...args], {
      maxBuffer: 16 << 20,
    });
    return stdout;
  } catch (e) {
    throw new Error(`verifier-gen ${args.join(" ")} failed: ${(e as { stderr?: string }).stderr}`);
  }
}

describe("e2e: a benchmark attestation of the digits MLP over JSON-RPC", function () {
  this.timeout(900_000);
  let node: ChildProcess;
  let rpcUrl: string;
  let provider: JsonRpcProvider;
  let workDir: string;
  let modelId: bigint;
  let registryAddress: string;
  let benchmark: BenchmarkRegistry;
  let attestation: AttestationFile;
  const md = loadModelDir(BUILD);

  before(async () => {
    ({ child: node, rpcUrl } = await startHardhatNode());
    provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true, cacheTimeout: -1 });
    workDir = await mkdtemp(path.join(tmpdir(), "veriml-attest-"));
    const deployer = devAccount(0, provider);
    const suite = await deploySuite(deployer, { ...DEFAULT_PARAMETERS, treasury: devAccount(1, provider).address });
    await deployZkModule(suite, deployer);
    ({ modelId } = await registerZkModel(suite.registry, deployer, {
      buildDir: BUILD,
      artifactURI: `file://${BUILD}`,
      ethPrice: 10n ** 16n,
      operatorStake: 10n ** 17n,
    }));
    registryAddress = await suite.registry.getAddress();
  });

  after(async () => {
    provider?.destroy();
    if (node) await stopProcess(node, "SIGKILL");
    if (workDir) await rm(workDir, { recursive: true, force: true });
    await terminateSnarkjs();
  });

  it("attests 32 held-out digits, submits with scripts/attest.ts and reads the record back", async () => {
    const owner = devAccount(0, provider).address;
    const out = path.join(workDir, "attestation.json");
    const printed = await verifierGen(
      "attest",
      BUILD,
      "--data",
      "data/digits-test.json",
      "--samples",
      String(SAMPLES),
      "--attester",
      owner,
      "--dir",
      ATTESTATION_BUILD,
      "--out",
      out,
      "-q",
    );
    attestation = readAttestationFile(out);
    // what the interpreter counts on the same samples, and the commitment a consumer recomputes
    const samples = samplesOf(md, loadTestSet("data/digits-test.json", SAMPLES));
    const correct = samples.filter((s) => predict(md, s.q) === s.label).length;
    expect(attestation.correct).to.equal(correct);
    expect(correct).to.be.greaterThan(28); // the MLP's held-out accuracy is about 97 %
    expect(attestation.datasetCommitment).to.equal(toBeHex(datasetCommitment(md, samples), 32));
    const recomputed = await verifierGen(
      "dataset-commitment",
      BUILD,
      "--data",
      "data/digits-test.json",
      "--samples",
      String(SAMPLES),
    );
    expect(recomputed.trim()).to.equal(attestation.datasetCommitment);
    expect(printed).to.contain(`correct            ${correct} of ${SAMPLES}`);

    const stdout = await hardhat(["run", "--network", "localhost", "scripts/attest.ts"], {
      LOCALHOST_RPC_URL: rpcUrl,
      VERIML_ATTESTATION: out,
      VERIML_MODEL_ID: String(modelId),
      VERIML_MODEL_REGISTRY: registryAddress,
      VERIML_ATTESTATION_BUILD: ATTESTATION_BUILD,
    });
    const deployed = /deployed BenchmarkRegistry (0x[0-9a-fA-F]{40})/.exec(stdout);
    expect(deployed, stdout).to.not.equal(null);
    expect(stdout).to.match(/named verifier 0x[0-9a-fA-F]{40} for model \d+, 32 samples/);
    expect(stdout).to.match(new RegExp(`labels ${correct} of 32 correctly`));
    console.log(`      ${stdout.trim().split("\n").at(-1)}`);

    benchmark = BenchmarkRegistry__factory.connect(deployed![1]!, provider);
    expect(await benchmark.attestationsOf(modelId)).to.deep.equal([0n]);
    const [found, r] = await benchmark.attestationFor(modelId, attestation.datasetCommitment);
    expect(found).to.equal(true);
    expect(r.modelHash).to.equal(md.manifest.modelHash);
    expect(r.samples).to.equal(32n);
    expect(r.correct).to.equal(BigInt(correct));
    expect(r.attester).to.equal(owner);
    expect((await benchmark.verifierOf(modelId, SAMPLES)).codeHash).to.equal(attestation.verifierCodeHash);

    // the consumer's check: its own model build, the attestation build and the test set
    const ab = loadAttestation(ATTESTATION_BUILD);
    const trust = { trustKeyMaker: true, modelRegistry: registryAddress };
    const checked = await checkRecordedAttestation(benchmark, 0n, md, ab, samples, trust);
    expect(checked).to.include({ modelId, samples: SAMPLES, correct, attester: owner, keyVerified: false });
    // a test set that is not the one recorded (the same size, one sample further)
    const shifted = samplesOf(md, loadTestSet("data/digits-test.json", SAMPLES + 1)).slice(1);
    await expectCheckFails(checkRecordedAttestation(benchmark, 0n, md, ab, shifted, trust), /is not this one/);
    // an attestation key (no ceremony) is fine on this local chain, refused on a public one
    checkAttestationBuildForChain(ab, 31337n);
    expect(() => checkAttestationBuildForChain(ab, 1n)).to.throw(BuildRefusedError, /any count/);
  });

  it("refuses a wrong count, another test set's commitment and another account's submission", async () => {
    const attester = devAccount(0, provider);
    const [dataset, samples, correct, proof] = attestArguments(attestation);
    const other = toBeHex(
      datasetCommitment(md, samplesOf(md, loadTestSet("data/digits-test.json", SAMPLES + 1)).slice(1)),
      32,
    );
    // model id 1 already has its one record for this test set
    await revertsWith(
      benchmark.connect(attester).attest.staticCall(modelId, dataset, samples, correct, proof),
      "BenchmarkRegistryAlreadyAttested",
    );
    // on a second registration of the model with the same verifier, nothing but the proof check stands in the way
    const fresh = await freshModel();
    const onFresh = (who: typeof attester, d: string, c: bigint) =>
      benchmark.connect(who).attest.staticCall(fresh, d, samples, c, proof);
    const invalid = "BenchmarkRegistryInvalidProof";
    await revertsWith(onFresh(attester, dataset, correct + 1n), invalid);
    await revertsWith(onFresh(attester, dataset, correct - 1n), invalid);
    await revertsWith(onFresh(attester, other, correct), invalid);
    await revertsWith(onFresh(devAccount(5, provider), dataset, correct), invalid);
    // and the honest statement goes through there (a static call: nothing recorded)
    expect(await onFresh(attester, dataset, correct)).to.equal(1n);
  });

  it("refuses wrong verifiers for the model when named; the consumer refuses a verifier of the owner's own key", async () => {
    const owner = devAccount(0, provider);
    const fresh = await freshModel(false);
    const name = (verifier: string, codeHash: string) =>
      benchmark.connect(owner).setVerifier.staticCall(fresh, verifier, codeHash);
    // the model's own inference verifier: it reports the model's hash, but it is not an attestation verifier
    const zk = await ModelRegistry__factory.connect(registryAddress, provider).modeConfig(modelId, 0);
    const inference = "0x" + zk.slice(26, 66);
    await revertsWith(
      name(inference, keccak256(await provider.getCode(inference))),
      "BenchmarkRegistryNotABenchmarkVerifier",
    );
    // an attestation verifier of another model
    const key = await forgeableKey(4, "e2e-attacker");
    try {
      const otherModel = await deployAttestationVerifier(key, "0x" + "11".repeat(32));
      await revertsWith(name(otherModel.address, otherModel.codeHash), "BenchmarkRegistryModelMismatch");
      // the right verifier, pinned with another code hash
      const right = await benchmark.verifierOf(modelId, SAMPLES);
      await revertsWith(name(right.verifier, otherModel.codeHash), "BenchmarkRegistryVerifierCodeMismatch");

      // The owner names a verifier for the model under a key it made itself (toxic waste known): the registry
      // cannot tell a key from a key, so it records 32 of 32 on the real test set.
      const forged = await deployAttestationVerifier(key, md.manifest.modelHash);
      await (await benchmark.connect(owner).setVerifier(fresh, forged.address, forged.codeHash)).wait();
      const all = BigInt(SAMPLES);
      const p = key.prove([BigInt(attestation.datasetCommitment), all, all, BigInt(owner.address)]).calldata;
      await (await benchmark.connect(owner).attest(fresh, attestation.datasetCommitment, all, all, p)).wait();
      const id = (await benchmark.attestationCount()) - 1n;
      expect((await benchmark.getAttestation(id)).correct).to.equal(all);
      // the consumer's check refuses it: the deployed verifier is not the attestation build's the consumer holds
      const samples = samplesOf(md, loadTestSet("data/digits-test.json", SAMPLES));
      await expectCheckFails(
        checkRecordedAttestation(benchmark, id, md, loadAttestation(ATTESTATION_BUILD), samples, {
          trustKeyMaker: true,
          modelRegistry: registryAddress,
        }),
        /is not the build's .*embeds 0 of the key's/,
      );
    } finally {
      await key.close();
    }
  });

  const expectCheckFails = (check: Promise<unknown>, message: RegExp): Promise<void> =>
    expectRejection(check, AttestationCheckError, message);

  /** An attestation verifier (the generated template) for `modelHash` under `key`, deployed. */
  async function deployAttestationVerifier(
    key: Awaited<ReturnType<typeof forgeableKey>>,
    modelHash: string,
  ): Promise<{ address: string; codeHash: string }> {
    const contractName = "ForgedBenchmarkVerifier";
    const sol = emitAttestationVerifier(key.vk, { contractName, modelHash, modelName: "forged", samples: SAMPLES });
    const artifact = compileVerifier({ [`${contractName}.sol`]: sol }, `${contractName}.sol`, contractName);
    const c = await new ContractFactory(artifact.abi as object[], artifact.bytecode, devAccount(0, provider)).deploy();
    await c.waitForDeployment();
    return { address: await c.getAddress(), codeHash: artifact.codeHash };
  }

  /** Awaits a call that must revert with the registry's custom error `name` (decoded from the node's answer). */
  async function revertsWith(call: Promise<unknown>, name: string): Promise<void> {
    let data: string | undefined;
    try {
      await call;
    } catch (e) {
      data = (e as { data?: string }).data;
    }
    expect(data, `expected a revert with ${name}`).to.be.a("string");
    expect(benchmark.interface.parseError(data!)?.name).to.equal(name);
  }

  /** Registers the digits MLP again (a new id, same owner) and names the same attestation verifier for it. */
  async function freshModel(nameVerifier = true): Promise<bigint> {
    const owner = devAccount(0, provider);
    const registry = ModelRegistry__factory.connect(registryAddress, owner);
    const zkConfig = await registry.modeConfig(modelId, 0);
    await (
      await registry.registerModel(md.manifest.modelHash, `file://${BUILD}`, 10n ** 16n, 10n ** 17n, [
        { mode: 0, config: zkConfig },
      ])
    ).wait();
    const id = await registry.modelCount();
    if (!nameVerifier) return id;
    const cfg = await benchmark.verifierOf(modelId, SAMPLES);
    await (await benchmark.connect(owner).setVerifier(id, cfg.verifier, cfg.codeHash)).wait();
    return id;
  }
});
