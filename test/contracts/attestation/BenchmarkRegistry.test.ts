/**
 * BenchmarkRegistry with real attestation verifiers and real proofs (two tiny classifiers, 6 samples each):
 * who may name a verifier and which, what an attestation records, and every proof it must refuse.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContractFactory } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { BenchmarkRegistry, ModelRegistry } from "../../../types/ethers-contracts/index.js";
import {
  buildAttestation,
  datasetCommitment,
  emitAttestationVerifier,
  predict,
  proveAttestation,
  samplesOf,
  type AttestationBuild,
  type AttestationFile,
  type Sample,
} from "../../../verifier-gen/src/attestation.js";
import { SNARK_SCALAR_FIELD } from "../../../verifier-gen/src/signals.js";
import { terminateSnarkjs } from "../../../verifier-gen/src/groth16.js";
import { build, loadModelDir, type ModelDir } from "../../../verifier-gen/src/pipeline.js";
import {
  AttestationCheckError,
  attestArguments,
  checkAttestationBuildForChain,
  checkRecordedAttestation,
} from "../../../scripts/lib/attestation.js";
import { forgeableKey } from "../../../scripts/lib/forgeable-groth16.js";
import { BuildRefusedError } from "../../../scripts/lib/zk.js";
import { compileVerifier } from "../../../verifier-gen/src/compile.js";
import { expectRejection } from "../../helpers/errors.js";
import { argmaxMlp } from "../../helpers/onnx-models.js";
import { ETH_PRICE, MODE_ZK, OPERATOR_STAKE, ethers, namedSigners, networkHelpers } from "../fixtures.js";

const SAMPLES = 6;
const inputs = Array.from({ length: 24 }, (_, k) => Array.from({ length: 4 }, (_, i) => Math.cos(k * 7 + i * 3) * 2));

interface Model {
  md: ModelDir;
  ab: AttestationBuild;
  samples: Sample[];
}

describe("BenchmarkRegistry", function () {
  this.timeout(600_000);
  const tmp = mkdtempSync(join(tmpdir(), "benchmark-registry-"));
  let a: Model;
  let b: Model;

  /** Six samples from `offset`, labelled with the model's own prediction but for sample 2 (so 5 of 6 correct). */
  const testSet = (md: ModelDir, offset: number): Sample[] =>
    samplesOf(md, {
      inputShape: [1, 4],
      inputs: inputs.slice(offset, offset + SAMPLES),
      labels: new Array<number>(SAMPLES).fill(0),
    }).map((s, i) => ({ ...s, label: i === 2 ? (predict(md, s.q) + 1) % 3 : predict(md, s.q) }));

  before(async () => {
    writeFileSync(join(tmp, "calib.json"), JSON.stringify({ input_shape: [1, 4], inputs }));
    const make = async (name: string, seed: number): Promise<Model> => {
      writeFileSync(join(tmp, `${name}.onnx`), argmaxMlp(seed));
      await build({
        model: join(tmp, `${name}.onnx`),
        calibration: join(tmp, "calib.json"),
        out: join(tmp, name),
        name,
      });
      const md = loadModelDir(join(tmp, name));
      const ab = await buildAttestation(md, { samples: SAMPLES, dir: join(tmp, `${name}-att`), entropy: name });
      return { md, ab, samples: testSet(md, 0) };
    };
    a = await make("model_a", 1);
    b = await make("model_b", 2);
    expect(a.md.manifest.modelHash).to.not.equal(b.md.manifest.modelHash);
  });
  after(async () => {
    rmSync(tmp, { recursive: true, force: true });
    await terminateSnarkjs();
  });

  const deployVerifier = async (m: Model, signer: HardhatEthersSigner): Promise<string> => {
    const c = await new ContractFactory(m.ab.artifact.abi as object[], m.ab.artifact.bytecode, signer).deploy();
    await c.waitForDeployment();
    return c.getAddress();
  };

  async function deployFixture() {
    const { owner, modelOwner, attester, outsider } = await namedSigners([
      "owner",
      "modelOwner",
      "attester",
      "outsider",
    ] as const);
    const registry: ModelRegistry = await ethers.deployContract("ModelRegistry", [owner.address]);
    const module = await ethers.deployContract("MockVerificationModule", [owner.address]);
    await registry.connect(owner).setModeModule(MODE_ZK, await module.getAddress());
    const register = async (who: HardhatEthersSigner, modelHash: string) => {
      await registry
        .connect(who)
        .registerModel(modelHash, "ipfs://x", ETH_PRICE, OPERATOR_STAKE, [{ mode: MODE_ZK, config: "0x" }]);
      return registry.modelCount();
    };
    const idA = await register(modelOwner, a.md.manifest.modelHash);
    const idB = await register(modelOwner, b.md.manifest.modelHash);
    // a copy of model A registered by someone else
    const idCopy = await register(outsider, a.md.manifest.modelHash);
    const benchmark: BenchmarkRegistry = await ethers.deployContract("BenchmarkRegistry", [
      await registry.getAddress(),
    ]);
    const verifierA = await deployVerifier(a, modelOwner);
    const verifierB = await deployVerifier(b, modelOwner);
    return { registry, benchmark, owner, modelOwner, attester, outsider, idA, idB, idCopy, verifierA, verifierB };
  }

  async function withVerifiersFixture() {
    const f = await deployFixture();
    await f.benchmark.connect(f.modelOwner).setVerifier(f.idA, f.verifierA, a.ab.artifact.codeHash);
    await f.benchmark.connect(f.modelOwner).setVerifier(f.idB, f.verifierB, b.ab.artifact.codeHash);
    return f;
  }

  const proofs = new Map<string, AttestationFile>();
  /** A real attestation of model m on samples, for attester (cached: proving takes a second). */
  async function attestation(m: Model, attester: string, samples = m.samples): Promise<AttestationFile> {
    const key = `${m.md.manifest.name}/${attester}/${datasetCommitment(m.md, samples)}`;
    let p = proofs.get(key);
    if (p === undefined) {
      p = await proveAttestation(m.md, m.ab, samples, attester);
      proofs.set(key, p);
    }
    return p;
  }

  describe("setVerifier", () => {
    it("names the model's own verifier, once per sample count, pinned by code hash", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      await expect(f.benchmark.connect(f.modelOwner).setVerifier(f.idA, f.verifierA, a.ab.artifact.codeHash))
        .to.emit(f.benchmark, "BenchmarkVerifierSet")
        .withArgs(f.idA, SAMPLES, f.verifierA, a.ab.artifact.codeHash);
      const cfg = await f.benchmark.verifierOf(f.idA, SAMPLES);
      expect(cfg.verifier).to.equal(f.verifierA);
      expect(cfg.codeHash).to.equal(a.ab.artifact.codeHash);
      expect(cfg.codeHash).to.equal(ethers.keccak256(await ethers.provider.getCode(f.verifierA)));
      // never replaced, not even by the same owner with another deployment of the same code
      const again = await deployVerifier(a, f.modelOwner);
      await expect(f.benchmark.connect(f.modelOwner).setVerifier(f.idA, again, a.ab.artifact.codeHash))
        .to.be.revertedWithCustomError(f.benchmark, "BenchmarkRegistryVerifierAlreadySet")
        .withArgs(f.idA, SAMPLES, f.verifierA);
    });

    it("refuses a caller who does not own the model, a non-contract, another code hash, another model", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const codeA = a.ab.artifact.codeHash;
      await expect(f.benchmark.connect(f.outsider).setVerifier(f.idA, f.verifierA, codeA))
        .to.be.revertedWithCustomError(f.benchmark, "BenchmarkRegistryNotModelOwner")
        .withArgs(f.idA, f.outsider.address);
      await expect(f.benchmark.connect(f.modelOwner).setVerifier(f.idA, f.outsider.address, codeA))
        .to.be.revertedWithCustomError(f.benchmark, "BenchmarkRegistryNoVerifier")
        .withArgs(f.outsider.address);
      await expect(f.benchmark.connect(f.modelOwner).setVerifier(f.idA, f.verifierA, b.ab.artifact.codeHash))
        .to.be.revertedWithCustomError(f.benchmark, "BenchmarkRegistryVerifierCodeMismatch")
        .withArgs(f.verifierA, b.ab.artifact.codeHash, codeA);
      await expect(f.benchmark.connect(f.modelOwner).setVerifier(f.idA, f.verifierB, b.ab.artifact.codeHash))
        .to.be.revertedWithCustomError(f.benchmark, "BenchmarkRegistryModelMismatch")
        .withArgs(f.idA, a.md.manifest.modelHash, b.md.manifest.modelHash);
      // an inference verifier of a model is not an attestation verifier
      const inference = await ethers.deployContract("DigitsMlpVerifier");
      const code = ethers.keccak256(await ethers.provider.getCode(await inference.getAddress()));
      await expect(f.benchmark.connect(f.modelOwner).setVerifier(f.idA, await inference.getAddress(), code))
        .to.be.revertedWithCustomError(f.benchmark, "BenchmarkRegistryNotABenchmarkVerifier")
        .withArgs(await inference.getAddress());
      await expect(
        f.benchmark.connect(f.modelOwner).setVerifier(99n, f.verifierA, codeA),
      ).to.be.revertedWithCustomError(f.registry, "ModelRegistryUnknownModel");
    });
  });

  describe("attest", () => {
    it("records the proven count on the committed test set, readable by model and by test set", async () => {
      const f = await networkHelpers.loadFixture(withVerifiersFixture);
      const p = await attestation(a, f.attester.address);
      expect(p.correct).to.equal(SAMPLES - 1);
      const tx = f.benchmark.connect(f.attester).attest(f.idA, ...attestArguments(p));
      await expect(tx)
        .to.emit(f.benchmark, "Attested")
        .withArgs(0n, f.idA, p.datasetCommitment, a.md.manifest.modelHash, SAMPLES, p.correct, f.attester.address);
      const rc = await (await tx).wait();
      const r = await f.benchmark.getAttestation(0n);
      expect(r.modelId).to.equal(f.idA);
      expect(r.modelHash).to.equal(a.md.manifest.modelHash);
      expect(r.dataset).to.equal(p.datasetCommitment);
      expect(r.samples).to.equal(BigInt(SAMPLES));
      expect(r.correct).to.equal(BigInt(p.correct));
      expect(r.attester).to.equal(f.attester.address);
      expect(r.blockNumber).to.equal(BigInt(rc!.blockNumber));
      expect(r.verifier).to.equal(f.verifierA);
      expect(await f.benchmark.attestationCount()).to.equal(1n);
      expect(await f.benchmark.attestationsOf(f.idA)).to.deep.equal([0n]);
      expect(await f.benchmark.attestationsOf(f.idB)).to.deep.equal([]);
      const [found, byDataset] = await f.benchmark.attestationFor(f.idA, p.datasetCommitment);
      expect(found).to.equal(true);
      expect(byDataset.correct).to.equal(BigInt(p.correct));
      const [none] = await f.benchmark.attestationFor(f.idB, p.datasetCommitment);
      expect(none).to.equal(false);
      await expect(f.benchmark.getAttestation(1n))
        .to.be.revertedWithCustomError(f.benchmark, "BenchmarkRegistryUnknownAttestation")
        .withArgs(1n);
    });

    it("refuses another count, another test set, another model's proof and another attester's proof", async () => {
      const f = await networkHelpers.loadFixture(withVerifiersFixture);
      const p = await attestation(a, f.attester.address);
      const [dataset, samples, correct, proof] = attestArguments(p);
      const invalid = "BenchmarkRegistryInvalidProof";
      for (const claimed of [correct + 1n, correct - 1n, BigInt(SAMPLES)]) {
        await expect(f.benchmark.connect(f.attester).attest(f.idA, dataset, samples, claimed, proof))
          .to.be.revertedWithCustomError(f.benchmark, invalid)
          .withArgs(f.idA, dataset, samples, claimed);
      }
      const other = ethers.toBeHex(datasetCommitment(a.md, testSet(a.md, 6)), 32);
      await expect(
        f.benchmark.connect(f.attester).attest(f.idA, other, samples, correct, proof),
      ).to.be.revertedWithCustomError(f.benchmark, invalid);
      // someone who saw the transaction cannot record it as theirs
      await expect(
        f.benchmark.connect(f.outsider).attest(f.idA, dataset, samples, correct, proof),
      ).to.be.revertedWithCustomError(f.benchmark, invalid);
      // model B's valid proof (its own test set and count) is not a proof about model A
      const pb = await attestation(b, f.attester.address);
      await expect(f.benchmark.connect(f.attester).attest(f.idA, ...attestArguments(pb))).to.be.revertedWithCustomError(
        f.benchmark,
        invalid,
      );
      await f.benchmark.connect(f.attester).attest(f.idB, ...attestArguments(pb));
      expect(await f.benchmark.attestationsOf(f.idA)).to.deep.equal([]);
      expect(await f.benchmark.attestationsOf(f.idB)).to.deep.equal([0n]);
    });

    it("refuses a sample count without a verifier, more correct than samples, and a second record of a test set", async () => {
      const f = await networkHelpers.loadFixture(withVerifiersFixture);
      const p = await attestation(a, f.attester.address);
      const [dataset, samples, correct, proof] = attestArguments(p);
      await expect(f.benchmark.connect(f.attester).attest(f.idA, dataset, 7n, correct, proof))
        .to.be.revertedWithCustomError(f.benchmark, "BenchmarkRegistryNoVerifierFor")
        .withArgs(f.idA, 7n);
      await expect(f.benchmark.connect(f.attester).attest(f.idA, dataset, samples, 7n, proof))
        .to.be.revertedWithCustomError(f.benchmark, "BenchmarkRegistryCorrectAboveSamples")
        .withArgs(7n, samples);
      await f.benchmark.connect(f.attester).attest(f.idA, dataset, samples, correct, proof);
      // the same statement again, even from another attester with its own proof
      const q = await attestation(a, f.outsider.address);
      await expect(f.benchmark.connect(f.outsider).attest(f.idA, ...attestArguments(q)))
        .to.be.revertedWithCustomError(f.benchmark, "BenchmarkRegistryAlreadyAttested")
        .withArgs(f.idA, dataset, 0n);
    });

    it("a copy of the model under another owner keeps its own records", async () => {
      const f = await networkHelpers.loadFixture(withVerifiersFixture);
      // the copy's owner names the same verifier (the modelHash matches) and attests on its id
      await f.benchmark.connect(f.outsider).setVerifier(f.idCopy, f.verifierA, a.ab.artifact.codeHash);
      const p = await attestation(a, f.outsider.address);
      await f.benchmark.connect(f.outsider).attest(f.idCopy, ...attestArguments(p));
      expect(await f.benchmark.attestationsOf(f.idCopy)).to.deep.equal([0n]);
      expect(await f.benchmark.attestationsOf(f.idA)).to.deep.equal([]);
      const [found] = await f.benchmark.attestationFor(f.idA, p.datasetCommitment);
      expect(found).to.equal(false);
    });

    it("checks the pinned code hash again at every attestation: a verifier whose code changed records nothing", async () => {
      const f = await networkHelpers.loadFixture(withVerifiersFixture);
      const p = await attestation(a, f.attester.address);
      const [dataset, samples, , proof] = attestArguments(p);
      // Swap the named verifier's code for one that accepts every count (what a metamorphic deployment could do).
      const shifty = await ethers.deployContract("ShiftyBenchmarkVerifier", [a.md.manifest.modelHash, SAMPLES]);
      const code = await ethers.provider.getCode(await shifty.getAddress());
      await networkHelpers.setCode(f.verifierA, code);
      await expect(f.benchmark.connect(f.attester).attest(f.idA, dataset, samples, BigInt(SAMPLES), proof))
        .to.be.revertedWithCustomError(f.benchmark, "BenchmarkRegistryVerifierCodeMismatch")
        .withArgs(f.verifierA, a.ab.artifact.codeHash, ethers.keccak256(code));
      expect(await f.benchmark.attestationCount()).to.equal(0n);
    });

    it("records the model's registered commitment, not what the verifier says of itself after it was named", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const shifty = await ethers.deployContract("ShiftyBenchmarkVerifier", [a.md.manifest.modelHash, SAMPLES]);
      const address = await shifty.getAddress();
      const code = ethers.keccak256(await ethers.provider.getCode(address));
      await f.benchmark.connect(f.modelOwner).setVerifier(f.idA, address, code);
      // Its code is unchanged (the pin holds), its storage now names model B.
      await shifty.setModelHash(b.md.manifest.modelHash);
      const p = await attestation(a, f.attester.address);
      await expect(f.benchmark.connect(f.attester).attest(f.idA, ...attestArguments(p)))
        .to.emit(f.benchmark, "Attested")
        .withArgs(0n, f.idA, p.datasetCommitment, a.md.manifest.modelHash, SAMPLES, p.correct, f.attester.address);
      expect((await f.benchmark.getAttestation(0n)).modelHash).to.equal(a.md.manifest.modelHash);
    });

    it("refuses an aliased test set commitment (value + r): one test set, one record", async () => {
      const f = await networkHelpers.loadFixture(withVerifiersFixture);
      const p = await attestation(a, f.attester.address);
      const [dataset, samples, correct, proof] = attestArguments(p);
      const aliased = ethers.toBeHex(BigInt(dataset) + SNARK_SCALAR_FIELD, 32);
      const verifier = new ethers.Contract(f.verifierA, a.ab.artifact.abi as object[], ethers.provider);
      await expect(f.benchmark.connect(f.attester).attest(f.idA, aliased, samples, correct, proof))
        .to.be.revertedWithCustomError(verifier, "PublicInputNotInField")
        .withArgs(0n);
      await f.benchmark.connect(f.attester).attest(f.idA, dataset, samples, correct, proof);
      expect(await f.benchmark.attestationsOf(f.idA)).to.deep.equal([0n]);
    });
  });

  describe("the consumer's check (scripts/lib/attestation.ts)", () => {
    it("passes an honest record only when the consumer says it trusts the key's maker", async () => {
      const f = await networkHelpers.loadFixture(withVerifiersFixture);
      const p = await attestation(a, f.attester.address);
      await f.benchmark.connect(f.attester).attest(f.idA, ...attestArguments(p));
      const modelRegistry = await f.registry.getAddress();
      const trust = { trustKeyMaker: true, modelRegistry };
      const checked = await checkRecordedAttestation(f.benchmark, 0n, a.md, a.ab, a.samples, trust);
      expect(checked).to.include({ modelId: f.idA, samples: SAMPLES, correct: SAMPLES - 1, keyVerified: false });
      // every other check passed: what is left is that no attestation key can be checked yet
      await expectCheckFails(
        checkRecordedAttestation(f.benchmark, 0n, a.md, a.ab, a.samples, { trustKeyMaker: false, modelRegistry }),
        /^[^;]*the attestation key cannot be checked[^;]*$/,
      );
      // The same statement in a BenchmarkRegistry over a ModelRegistry of the outsider's (anyone can deploy both,
      // and register any model hash there): its model ids are not the suite's, refused.
      const models = await ethers.deployContract("ModelRegistry", [f.outsider.address]);
      const module = await ethers.deployContract("MockVerificationModule", [f.outsider.address]);
      await models.connect(f.outsider).setModeModule(MODE_ZK, await module.getAddress());
      await models
        .connect(f.outsider)
        .registerModel(a.md.manifest.modelHash, "ipfs://x", ETH_PRICE, OPERATOR_STAKE, [
          { mode: MODE_ZK, config: "0x" },
        ]);
      const elsewhere: BenchmarkRegistry = await ethers.deployContract("BenchmarkRegistry", [
        await models.getAddress(),
      ]);
      await elsewhere.connect(f.outsider).setVerifier(1n, f.verifierA, a.ab.artifact.codeHash);
      await elsewhere.connect(f.outsider).attest(1n, ...attestArguments(await attestation(a, f.outsider.address)));
      await expectCheckFails(
        checkRecordedAttestation(elsewhere, 0n, a.md, a.ab, a.samples, trust),
        /^[^;]*the benchmark registry is over ModelRegistry 0x[0-9a-fA-F]{40}, not [^;]*$/,
      );
    });

    it("an owner's build dressed up with a key it made (and no development flag) is not a verified key", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const modelRegistry = await f.registry.getAddress();
      // The owner publishes an 'attestation build': the honest circuit, a key whose waste it knows, the verifier
      // emitted from that key, and a manifest that says the key is not a development key.
      const key = await forgeableKey(4, "owner-made");
      try {
        const { contractName } = a.ab.manifest;
        const sol = emitAttestationVerifier(key.vk, {
          contractName,
          modelHash: a.md.manifest.modelHash,
          modelName: a.md.manifest.name,
          samples: SAMPLES,
        });
        const artifact = compileVerifier({ [`${contractName}.sol`]: sol }, `${contractName}.sol`, contractName);
        const dressed: AttestationBuild = {
          ...a.ab,
          vkey: key.vk,
          artifact,
          manifest: { ...a.ab.manifest, ceremony: { ...a.ab.manifest.ceremony, development: false as true } },
        };
        const verifier = await new ContractFactory(artifact.abi as object[], artifact.bytecode, f.modelOwner).deploy();
        await f.benchmark.connect(f.modelOwner).setVerifier(f.idA, await verifier.getAddress(), artifact.codeHash);
        // every sample right, on the real test set
        const dataset = datasetCommitment(a.md, a.samples);
        const all = BigInt(SAMPLES);
        const forged = key.prove([dataset, all, all, BigInt(f.modelOwner.address)]).calldata;
        await f.benchmark.connect(f.modelOwner).attest(f.idA, ethers.toBeHex(dataset, 32), all, all, forged);
        expect((await f.benchmark.getAttestation(0n)).correct).to.equal(all);
        // the consumer's check cannot tell this key from an honest one: it refuses unless told to trust the maker,
        // and never reports the key as checked (the manifest's own word is not taken)
        await expectCheckFails(
          checkRecordedAttestation(f.benchmark, 0n, a.md, dressed, a.samples, { trustKeyMaker: false, modelRegistry }),
          /the attestation key cannot be checked/,
        );
        const trusted = await checkRecordedAttestation(f.benchmark, 0n, a.md, dressed, a.samples, {
          trustKeyMaker: true,
          modelRegistry,
        });
        expect(trusted).to.include({ correct: SAMPLES, keyVerified: false });
        // and deploying such a build on a public chain is refused whatever its manifest says
        checkAttestationBuildForChain(dressed, 31337n);
        expect(() => checkAttestationBuildForChain(dressed, 1n)).to.throw(BuildRefusedError, /any count/);
      } finally {
        await key.close();
      }
    });
  });

  const expectCheckFails = (check: Promise<unknown>, message: RegExp): Promise<void> =>
    expectRejection(check, AttestationCheckError, message);
});
