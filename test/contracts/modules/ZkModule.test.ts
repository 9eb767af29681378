// ZkModule with real Groth16 proofs from verifier-gen against the committed digits builds.
import { inlineEthRequest } from "../../../scripts/lib/requests.js";
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { network } from "hardhat";
import { AbiCoder, keccak256, parseEther, ZeroAddress, hexlify } from "ethers";
import { loadModelDir, proveInput, terminateSnarkjs, type ProofFile } from "../../../verifier-gen/src/pipeline.js";
import { DigitGate__factory } from "../../../types/ethers-contracts/index.js";
import { DEFAULT_PARAMETERS, deploySuite } from "../../../scripts/lib/deploy.js";
import {
  BuildRefusedError,
  MODE_ZK,
  checkBuildForChain,
  deployVerifier,
  deployZkModule,
  zkConfigFor,
  readManifest,
  registerZkModel,
} from "../../../scripts/lib/zk.js";
import { encodeOutput } from "../../../verifier-gen/src/encoding.js";
import { ZK_CONFIG_TYPE } from "../../../operator/src/terms.js";
import { INFERENCE_VERIFIER_INTERFACE_ID } from "../../../verifier-gen/src/solidity.js";
import { encodeZkProof } from "../../../operator/src/executors/zk.js";
import { settledOutput } from "../../../operator/src/chain/results.js";

const { ethers, networkHelpers } = await network.create();
const abi = AbiCoder.defaultAbiCoder();
const ZK_PROOF = "tuple(bytes input, uint256[2] a, uint256[2][2] b, uint256[2] c)";
const MLP = "models/build/digits-mlp";
const CNN = "models/build/digits-cnn";
const PRICE = parseEther("0.01");
const STAKE = parseEther("1");

const testSet = JSON.parse(readFileSync("data/digits-test.json", "utf8")) as { inputs: number[][]; labels: number[] };
const sample = (i: number): Uint8Array => Uint8Array.from(testSet.inputs[i]!);

const mlp = loadModelDir(MLP);
const proofCache = new Map<string, ProofFile>();
async function prove(dir: string, input: Uint8Array): Promise<ProofFile> {
  const key = `${dir}:${hexlify(input)}`;
  let proof = proofCache.get(key);
  if (proof === undefined) {
    proof = await proveInput(dir === MLP ? mlp : loadModelDir(dir), Array.from(input));
    proofCache.set(key, proof);
  }
  return proof;
}
const encodeProof = (input: Uint8Array, p: ProofFile): string => encodeZkProof(input, p.calldata);
const encodeLabel = (label: number): string => encodeOutput([label]);
const ZK_CONFIG = ZK_CONFIG_TYPE;

describe("ZkModule", function () {
  this.timeout(120_000);
  after(terminateSnarkjs);

  async function deployZkFixture() {
    const [deployer, treasury, user, operator, other] = await ethers.getSigners();
    const suite = await deploySuite(deployer!, { ...DEFAULT_PARAMETERS, treasury: treasury!.address });
    const zk = await deployZkModule(suite, deployer!);
    const { modelId, verifier } = await registerZkModel(suite.registry, deployer!, {
      buildDir: MLP,
      artifactURI: "file://models/build/digits-mlp",
      ethPrice: PRICE,
      operatorStake: STAKE,
    });
    for (const op of [operator!, other!]) {
      await suite.vault.connect(op).stake(parseEther("5"), { value: parseEther("5") });
      await suite.vault.connect(op).setService(modelId, 0, true);
    }
    return { ...suite, zk, modelId, verifier, deployer: deployer!, user: user!, operator: operator!, other: other! };
  }

  async function claimedRequest(input: Uint8Array) {
    const f = await networkHelpers.loadFixture(deployZkFixture);
    const deadline = BigInt((await networkHelpers.time.latest()) + 3600);
    await f.market
      .connect(f.user)
      .createRequest(inlineEthRequest(f.modelId, MODE_ZK, input, PRICE, deadline), { value: PRICE });
    await f.market.connect(f.operator).claim(1n);
    return f;
  }

  it("binds the model to a verifier built from it and pins that verifier's code", async () => {
    const f = await networkHelpers.loadFixture(deployZkFixture);
    const codeHash = keccak256(await ethers.provider.getCode(f.verifier));
    expect(await f.registry.modeConfig(f.modelId, MODE_ZK)).to.equal(
      abi.encode([ZK_CONFIG], [{ verifier: f.verifier, verifierCodeHash: codeHash }]),
    );
    const cnnVerifier = await deployVerifier(CNN, f.deployer);
    await expect(f.registry.configureMode(f.modelId, MODE_ZK, await zkConfigFor(cnnVerifier, f.deployer)))
      .to.be.revertedWithCustomError(f.zk, "ZkModuleModelMismatch")
      .withArgs(f.modelId, mlp.manifest.modelHash, loadModelDir(CNN).manifest.modelHash);
    await expect(
      f.registry.configureMode(
        f.modelId,
        MODE_ZK,
        abi.encode([ZK_CONFIG], [{ verifier: f.user.address, verifierCodeHash: ethers.ZeroHash }]),
      ),
    )
      .to.be.revertedWithCustomError(f.zk, "ZkModuleNoVerifier")
      .withArgs(f.user.address);
    // A config whose code hash is not the verifier's own is refused.
    await expect(
      f.registry.configureMode(
        f.modelId,
        MODE_ZK,
        abi.encode([ZK_CONFIG], [{ verifier: f.verifier, verifierCodeHash: keccak256("0x00") }]),
      ),
    )
      .to.be.revertedWithCustomError(f.zk, "ZkModuleVerifierCodeMismatch")
      .withArgs(f.verifier, keccak256("0x00"), codeHash);
  });

  it("registers only a contract that declares IInferenceVerifier through ERC-165", async () => {
    const f = await networkHelpers.loadFixture(deployZkFixture);
    // The generated verifier declares it (and ERC-165 itself), and nothing else.
    const verifier = await ethers.getContractAt(["function supportsInterface(bytes4) view returns (bool)"], f.verifier);
    const supports = verifier.getFunction("supportsInterface");
    expect(await supports(INFERENCE_VERIFIER_INTERFACE_ID)).to.equal(true);
    expect(await supports("0x01ffc9a7")).to.equal(true);
    expect(await supports("0xffffffff")).to.equal(false);
    // Right model hash, right functions, no declaration: refused with the offending address.
    const undeclared = await ethers.deployContract("UndeclaredVerifier", [mlp.manifest.modelHash]);
    const address = await undeclared.getAddress();
    await expect(f.registry.configureMode(f.modelId, MODE_ZK, await zkConfigFor(address, f.deployer)))
      .to.be.revertedWithCustomError(f.zk, "ZkModuleNotAnInferenceVerifier")
      .withArgs(address);
  });

  it("a verifier whose code changes after registration (metamorphic) verifies nothing", async () => {
    const input = sample(0);
    const f = await claimedRequest(input);
    const p = await prove(MLP, input);
    const liar = await ethers.deployContract("LyingVerifier", [mlp.manifest.modelHash]);
    // Swap the registered verifier's code for one that accepts anything.
    await networkHelpers.setCode(f.verifier, await ethers.provider.getCode(await liar.getAddress()));
    await expect(
      f.market.connect(f.operator).submitResult(1n, encodeLabel(9), encodeProof(input, p)),
    ).to.be.revertedWithCustomError(f.zk, "ZkModuleVerifierCodeMismatch");
  });

  it("a self-declared MODEL_HASH is not a verifier: a lying contract needs its own code hash, visible to all", async () => {
    const f = await networkHelpers.loadFixture(deployZkFixture);
    const liar = await ethers.deployContract("LyingVerifier", [mlp.manifest.modelHash]);
    const liarConfig = await zkConfigFor(await liar.getAddress(), f.deployer);
    // The model owner chooses the verifier (and is trusted for it, docs/SECURITY.md), but only ever under a
    // code hash anyone can compare with the verifier rebuilt from the published verification key.
    const [{ verifierCodeHash }] = abi.decode([ZK_CONFIG], liarConfig) as unknown as [{ verifierCodeHash: string }];
    expect(verifierCodeHash).to.not.equal(keccak256(await ethers.provider.getCode(f.verifier)));
    await f.registry.configureMode(f.modelId, MODE_ZK, liarConfig);
    // Requests snapshot the config they were made with: a consumer reads exactly which verifier judged it.
    const deadline = BigInt((await networkHelpers.time.latest()) + 3600);
    await f.market
      .connect(f.user)
      .createRequest(inlineEthRequest(f.modelId, MODE_ZK, sample(1), PRICE, deadline), { value: PRICE });
    expect(await f.market.modeConfigOf(1n)).to.equal(liarConfig);
  });

  it("refuses development-ceremony builds on public chains and naive baselines everywhere", async () => {
    const manifest = await readManifest(MLP);
    expect(manifest.ceremony.development).to.equal(true);
    expect(() => checkBuildForChain(manifest, 31337n)).to.not.throw();
    expect(() => checkBuildForChain(manifest, 11155111n)).to.throw(BuildRefusedError, /development ceremony/);
    expect(() => checkBuildForChain(manifest, 11155111n, true)).to.not.throw();
    expect(() => checkBuildForChain({ ...manifest, naive: true }, 31337n)).to.throw(BuildRefusedError, /naive/);
    // a manifest that only says development: false is no ceremony (test/verifier-gen/ceremony.test.ts has real ones)
    expect(() =>
      checkBuildForChain({ ...manifest, ceremony: { ...manifest.ceremony, development: false } }, 1n),
    ).to.throw(BuildRefusedError, /development ceremony/);
  });

  it("accepts a valid proof, finalizes at once and pays the operator", async () => {
    const input = sample(0);
    const f = await claimedRequest(input);
    const p = await prove(MLP, input);
    const label = p.decoded.label!;
    await expect(f.market.connect(f.operator).submitResult(1n, encodeLabel(label), encodeProof(input, p)))
      .to.emit(f.zk, "ProofVerified")
      .withArgs(1n, f.modelId, f.operator.address, encodeLabel(label));
    expect(await f.zk.isFinal(1n)).to.equal(true);
    const fee = (PRICE * BigInt(DEFAULT_PARAMETERS.protocolFeeBps)) / 10_000n;
    await expect(f.market.finalize(1n))
      .to.emit(f.market, "RequestFinalized")
      .withArgs(1n, f.operator.address, encodeLabel(label), PRICE - fee, fee);
    expect(await settledOutput(f.market, 1n)).to.equal(encodeLabel(label));
    expect(await f.market.owed(f.operator.address, ZeroAddress)).to.equal(PRICE - fee);
    expect(label).to.equal(testSet.labels[0]);
  });

  it("rejects a valid proof submitted with a changed output", async () => {
    const input = sample(0);
    const f = await claimedRequest(input);
    const p = await prove(MLP, input);
    const wrong = (p.decoded.label! + 1) % 10;
    await expect(f.market.connect(f.operator).submitResult(1n, encodeLabel(wrong), encodeProof(input, p)))
      .to.be.revertedWithCustomError(f.zk, "ZkModuleInvalidProof")
      .withArgs(1n);
    expect((await f.market.getRequest(1n)).status).to.equal(2n); // still Claimed: can still be served
  });

  it("rejects a proof for another input, whether or not the input is swapped too", async () => {
    const input = sample(0);
    const other = sample(1);
    const f = await claimedRequest(input);
    const p = await prove(MLP, other);
    const output = encodeLabel(p.decoded.label!);
    await expect(f.market.connect(f.operator).submitResult(1n, output, encodeProof(other, p)))
      .to.be.revertedWithCustomError(f.zk, "ZkModuleInputMismatch")
      .withArgs(1n, keccak256(input), keccak256(other));
    await expect(f.market.connect(f.operator).submitResult(1n, output, encodeProof(input, p)))
      .to.be.revertedWithCustomError(f.zk, "ZkModuleInvalidProof")
      .withArgs(1n);
  });

  it("rejects a proof made by another model's circuit", async () => {
    const input = sample(2);
    const f = await claimedRequest(input);
    const p = await prove(CNN, input);
    await expect(
      f.market.connect(f.operator).submitResult(1n, encodeLabel(p.decoded.label!), encodeProof(input, p)),
    ).to.be.revertedWithCustomError(f.zk, "ZkModuleInvalidProof");
  });

  it("rejects a fabricated proof and a malformed output", async () => {
    const input = sample(3);
    const f = await claimedRequest(input);
    const fake = abi.encode(
      [ZK_PROOF],
      [
        {
          input,
          a: [1n, 2n],
          b: [
            [1n, 2n],
            [3n, 4n],
          ],
          c: [1n, 2n],
        },
      ],
    );
    await expect(f.market.connect(f.operator).submitResult(1n, encodeLabel(testSet.labels[3]!), fake))
      .to.be.revertedWithCustomError(f.zk, "ZkModuleInvalidProof")
      .withArgs(1n);
    await expect(f.market.connect(f.operator).submitResult(1n, "0x07", fake))
      .to.be.revertedWithCustomError(f.zk, "ZkModuleBadOutput")
      .withArgs(1n, 1n);
  });

  it("is served by the honest operator after a cheater's attempts, and only the market calls onSubmit", async () => {
    const input = sample(4);
    const f = await claimedRequest(input);
    const p = await prove(MLP, input);
    await expect(
      f.market.connect(f.operator).submitResult(1n, encodeLabel((p.decoded.label! + 3) % 10), encodeProof(input, p)),
    ).to.be.revertedWithCustomError(f.zk, "ZkModuleInvalidProof");
    await f.market.connect(f.operator).submitResult(1n, encodeLabel(p.decoded.label!), encodeProof(input, p));
    await f.market.finalize(1n);
    expect((await f.market.getRequest(1n)).status).to.equal(4n);
    await expect(
      f.zk.onSubmit(
        { requestId: 1n, modelId: f.modelId, operator: f.operator.address, inputHash: keccak256(input), config: "0x" },
        "0x",
        "0x",
      ),
    )
      .to.be.revertedWithCustomError(f.zk, "ZkModuleOnlyMarket")
      .withArgs(f.deployer.address);
    await expect(f.zk.settlement(2n)).to.be.revertedWithCustomError(f.zk, "ZkModuleNotFinal").withArgs(2n);
    expect(await f.zk.verificationFee("0x", PRICE)).to.equal(0n);
  });

  async function openRequest(input: Uint8Array) {
    const f = await networkHelpers.loadFixture(deployZkFixture);
    const deadline = BigInt((await networkHelpers.time.latest()) + 3600);
    await f.market
      .connect(f.user)
      .createRequest(inlineEthRequest(f.modelId, MODE_ZK, input, PRICE, deadline), { value: PRICE });
    return f;
  }

  it("fulfill: a valid proof settles an open request in one transaction, paid to the caller", async () => {
    const input = sample(6);
    const f = await openRequest(input);
    const p = await prove(MLP, input);
    const output = encodeLabel(p.decoded.label!);
    const fee = (PRICE * BigInt(DEFAULT_PARAMETERS.protocolFeeBps)) / 10_000n;
    const tx = f.market.connect(f.operator).fulfill(1n, output, encodeProof(input, p));
    await expect(tx).to.emit(f.zk, "ProofVerified").withArgs(1n, f.modelId, f.operator.address, output);
    await expect(tx)
      .to.emit(f.market, "RequestFinalized")
      .withArgs(1n, f.operator.address, output, PRICE - fee, fee);
    const receipt = await (await tx).wait();
    console.log(`      fulfill gas (digits MLP, real proof): ${receipt!.gasUsed}`);
    expect((await f.market.getRequest(1n)).status).to.equal(4n);
    expect(await f.market.resultHashOf(1n)).to.equal(keccak256(output));
    expect(await f.market.owed(f.operator.address, ZeroAddress)).to.equal(PRICE - fee);
    // The claim path's record is not written: the verdict lived only in the transaction.
    expect(await f.zk.isFinal(1n)).to.equal(false);
    expect(p.decoded.label).to.equal(testSet.labels[6]);
  });

  it("fulfill: a changed output, another input's proof or a fabricated proof is refused and the request stays open", async () => {
    const input = sample(7);
    const other = sample(8);
    const f = await openRequest(input);
    const p = await prove(MLP, input);
    const q = await prove(MLP, other);
    await expect(
      f.market.connect(f.operator).fulfill(1n, encodeLabel((p.decoded.label! + 1) % 10), encodeProof(input, p)),
    )
      .to.be.revertedWithCustomError(f.zk, "ZkModuleInvalidProof")
      .withArgs(1n);
    await expect(f.market.connect(f.operator).fulfill(1n, encodeLabel(q.decoded.label!), encodeProof(other, q)))
      .to.be.revertedWithCustomError(f.zk, "ZkModuleInputMismatch")
      .withArgs(1n, keccak256(input), keccak256(other));
    await expect(f.market.connect(f.operator).fulfill(1n, encodeLabel(q.decoded.label!), encodeProof(input, q)))
      .to.be.revertedWithCustomError(f.zk, "ZkModuleInvalidProof")
      .withArgs(1n);
    await expect(f.market.connect(f.operator).fulfill(1n, "0x07", encodeProof(input, p)))
      .to.be.revertedWithCustomError(f.zk, "ZkModuleBadOutput")
      .withArgs(1n, 1n);
    expect((await f.market.getRequest(1n)).status).to.equal(1n);
    await f.market.connect(f.operator).fulfill(1n, encodeLabel(p.decoded.label!), encodeProof(input, p));
    expect((await f.market.getRequest(1n)).status).to.equal(4n);
  });

  it("fulfill: a verifier whose code changed after the request verifies nothing", async () => {
    const input = sample(9);
    const f = await openRequest(input);
    const p = await prove(MLP, input);
    const liar = await ethers.deployContract("LyingVerifier", [mlp.manifest.modelHash]);
    await networkHelpers.setCode(f.verifier, await ethers.provider.getCode(await liar.getAddress()));
    await expect(
      f.market.connect(f.operator).fulfill(1n, encodeLabel((p.decoded.label! + 1) % 10), encodeProof(input, p)),
    ).to.be.revertedWithCustomError(f.zk, "ZkModuleVerifierCodeMismatch");
  });

  it("fulfill: only the market calls the module; one proof answers every request of the same input", async () => {
    const input = sample(10);
    const f = await openRequest(input);
    const deadline = BigInt((await networkHelpers.time.latest()) + 3600);
    await f.market
      .connect(f.user)
      .createRequest(inlineEthRequest(f.modelId, MODE_ZK, input, PRICE, deadline), { value: PRICE });
    const p = await prove(MLP, input);
    const output = encodeLabel(p.decoded.label!);
    const submission = { requestId: 1n, modelId: f.modelId, operator: f.operator.address, inputHash: keccak256(input) };
    await expect(f.zk.onFulfill({ ...submission, config: "0x" }, output, encodeProof(input, p)))
      .to.be.revertedWithCustomError(f.zk, "ZkModuleOnlyMarket")
      .withArgs(f.deployer.address);
    await expect(
      f.zk.onFulfillBatch(
        {
          modelId: f.modelId,
          operator: f.operator.address,
          config: "0x",
          requestIds: [1n],
          inputHashes: [keccak256(input)],
        },
        "0x",
      ),
    )
      .to.be.revertedWithCustomError(f.zk, "ZkModuleOnlyMarket")
      .withArgs(f.deployer.address);
    // The proof is about the input and the output, nothing else: the same proof is a correct answer to both
    // requests (a replay is worth exactly one correct result per request).
    await f.market.connect(f.operator).fulfill(1n, output, encodeProof(input, p));
    await f.market.connect(f.other).fulfill(2n, output, encodeProof(input, p));
    expect(await f.market.resultHashOf(2n)).to.equal(keccak256(output));
    // ERC-165: the market settles ZkModule requests in one transaction because it says so.
    expect(await f.zk.supportsInterface("0x01ffc9a7")).to.equal(true);
    expect(await f.zk.supportsInterface("0xffffffff")).to.equal(false);
  });

  it("delivers the verified label to a consumer contract", async () => {
    const f = await networkHelpers.loadFixture(deployZkFixture);
    const input = sample(5);
    const p = await prove(MLP, input);
    const label = p.decoded.label!;
    const gate = await new DigitGate__factory(f.deployer).deploy(
      await f.market.getAddress(),
      f.modelId,
      MODE_ZK,
      label,
      await f.market.termsHashOf(f.modelId, MODE_ZK),
    );
    const deadline = BigInt((await networkHelpers.time.latest()) + 3600);
    await gate.connect(f.user).submitDigit(input, deadline, { value: PRICE });
    await f.market.connect(f.operator).claim(1n);
    await f.market.connect(f.operator).submitResult(1n, encodeLabel(label), encodeProof(input, p));
    await expect(f.market.finalize(1n)).to.emit(gate, "DigitClassified").withArgs(1n, f.user.address, label, true);
    expect(await gate.passed(f.user.address)).to.equal(true);
    // The same through fulfill: one transaction, the callback within it.
    await gate.connect(f.other).submitDigit(input, deadline, { value: PRICE });
    await expect(f.market.connect(f.operator).fulfill(2n, encodeLabel(label), encodeProof(input, p)))
      .to.emit(gate, "DigitClassified")
      .withArgs(2n, f.other.address, label, true);
  });
});
