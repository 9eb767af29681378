/**
 * Measures the gas of the main entry points on the in-process chain and writes gas-report.json.
 * CI regenerates it and fails when the committed file differs, so every gas change shows up in a diff.
 *
 * Run: npm run gas-report          (writes gas-report.json)
 *      npm run gas-report:check  (fails if gas-report.json is out of date)
 */
import { encodeOutput } from "../verifier-gen/src/encoding.js";
import { readFile, writeFile } from "node:fs/promises";
import { network } from "hardhat";
import {
  ContractFactory,
  ZeroHash,
  toBeArray,
  toBeHex,
  getBytes,
  hexlify,
  keccak256,
  parseEther,
  toUtf8Bytes,
  type ContractTransactionResponse,
} from "ethers";
import {
  BenchmarkRegistry__factory,
  DigitGate__factory,
  MockERC20__factory,
  MockVerificationModule__factory,
} from "../types/ethers-contracts/index.js";
import { DEFAULT_PARAMETERS, deploySuite, registerModel } from "./lib/deploy.js";
import { forgeableBatchVerifier, forgeableKey, hasZeroByte } from "./lib/forgeable-groth16.js";
import { compileVerifier } from "../verifier-gen/src/compile.js";
import { datasetCommitment, emitAttestationVerifier, samplesOf } from "../verifier-gen/src/attestation.js";
import { inlineEthRequest } from "./lib/requests.js";
import { MODE_ZK, deployZkModule, registerZkModel, zkConfigFor } from "./lib/zk.js";
import { encodeZkBatchProof, encodeZkProof } from "../operator/src/executors/zk.js";
import { loadModelDir, proveQuantized, terminateSnarkjs, type ProofFile } from "../verifier-gen/src/pipeline.js";
import { quantizeInput } from "../verifier-gen/src/quantize.js";

const REPORT = "gas-report.json";
const testSet = JSON.parse(await readFile("data/digits-test.json", "utf8")) as { inputs: number[][]; labels: number[] };
const check = process.env.GAS_REPORT_CHECK === "1";

const { ethers, networkHelpers } = await network.create();
const [deployer, treasury, user, operator, operator2] = await ethers.getSigners();
if (!deployer || !treasury || !user || !operator || !operator2) throw new Error("need 5 accounts");

const gas: Record<string, number> = {};
async function measure(name: string, tx: Promise<ContractTransactionResponse>): Promise<void> {
  const receipt = await (await tx).wait();
  if (!receipt) throw new Error(`${name}: no receipt`);
  gas[name] = Number(receipt.gasUsed);
}

const { registry, vault, market } = await deploySuite(deployer, { ...DEFAULT_PARAMETERS, treasury: treasury.address });
const mock = await new MockVerificationModule__factory(deployer).deploy(await market.getAddress());
await (await registry.setModeModule(0, await mock.getAddress())).wait();
await (await mock.setAutoAccept(true)).wait();
const token = await new MockERC20__factory(deployer).deploy("Demo USD", "DUSD");
await (await market.setTokenAllowed(await token.getAddress(), true)).wait();
await (await token.mint(user.address, parseEther("1000"))).wait();
await (await token.connect(user).approve(await market.getAddress(), ethers.MaxUint256)).wait();

const price = parseEther("0.01");
await measure(
  "ModelRegistry.registerModel",
  registry.registerModel(keccak256(toUtf8Bytes("gas")), "ipfs://model", price, parseEther("0.5"), [
    { mode: 0, config: "0x" },
  ]),
);
await measure("ModelRegistry.setPrice", registry.setPrice(1n, await token.getAddress(), parseEther("5")));
for (const op of [operator, operator2]) {
  await measure("StakingVault.stake", vault.connect(op).stake(parseEther("5"), { value: parseEther("5") }));
  await measure("StakingVault.setService", vault.connect(op).setService(1n, 0, true));
}
const gate = await new DigitGate__factory(deployer).deploy(
  await market.getAddress(),
  1n,
  0,
  7,
  await market.termsHashOf(1n, 0),
);

/**
 * A deadline `seconds` from now whose bytes are all nonzero: calldata costs 4 gas per zero byte and 16 per other,
 * so a deadline that happens to hold a zero byte makes createRequest 12 gas cheaper and the report would depend on
 * the clock.
 */
async function deadlineIn(seconds: number): Promise<bigint> {
  let t = BigInt((await networkHelpers.time.latest()) + seconds);
  while (toBeArray(t).includes(0)) t++;
  return t;
}

const output = encodeOutput([7n]);
const input = new Uint8Array(64).fill(3);
const deadline = await deadlineIn(3600);
const base = {
  modelId: 1n,
  mode: 0,
  token: ethers.ZeroAddress,
  maxFee: price,
  deadline,
  input,
  inputHash: ethers.ZeroHash,
  inputURI: "",
  callback: ethers.ZeroAddress,
  callbackGasLimit: 0,
  termsHash: ZeroHash,
};
await measure(
  "InferenceMarket.createRequest (ETH, 64-byte input)",
  market.connect(user).createRequest(base, { value: price }),
);
await measure(
  "InferenceMarket.createRequest (ERC-20, input by hash)",
  market.connect(user).createRequest({
    ...base,
    token: await token.getAddress(),
    maxFee: parseEther("5"),
    input: "0x",
    inputHash: keccak256(input),
    inputURI: "ipfs://input",
  }),
);
await measure(
  "DigitGate.submitDigit (request with callback)",
  gate.connect(user).submitDigit(input, deadline, { value: price }),
);
await measure("InferenceMarket.claim", market.connect(operator).claim(1n));
await market.connect(operator).claim(2n);
await market.connect(operator).claim(3n);
await measure("InferenceMarket.submitResult (mock module)", market.connect(operator).submitResult(1n, output, "0x"));
await market.connect(operator).submitResult(2n, output, "0x");
await market.connect(operator).submitResult(3n, output, "0x");
await measure("InferenceMarket.finalize (no callback)", market.finalize(1n));
await measure("InferenceMarket.finalize (ERC-20)", market.finalize(2n));
await measure("InferenceMarket.finalize (DigitGate callback)", market.finalize(3n));
await measure("InferenceMarket.withdraw (ETH)", market.connect(operator).withdraw(ethers.ZeroAddress));

await market.connect(user).createRequest(base, { value: price });
await market.connect(operator).claim(4n);
await networkHelpers.time.increase(601);
await measure("InferenceMarket.reopen (no-show)", market.reopen(4n));
await networkHelpers.time.increase(3600);
await measure("InferenceMarket.refund", market.refund(4n));
await measure("StakingVault.requestUnbond", vault.connect(operator2).requestUnbond(parseEther("1")));
await networkHelpers.time.increase(DEFAULT_PARAMETERS.unbondingDelaySeconds);
await measure("StakingVault.withdraw", vault.connect(operator2).withdraw());
await measure("StakingVault.withdrawSlashProceeds", vault.connect(treasury).withdrawSlashProceeds());

await measureZk();
await measureAttestation();

const report = `${JSON.stringify({ solc: "0.8.28", optimizerRuns: 200, gas }, null, 2)}\n`;
await terminateSnarkjs();
if (check) {
  const committed = await readFile(REPORT, "utf8").catch(() => "");
  if (committed !== report) {
    process.stderr.write(`${REPORT} is out of date. Run \`npm run gas-report\` and commit the diff:\n${report}`);
    process.exit(1);
  }
  process.stdout.write(`${REPORT} is up to date\n`);
} else {
  await writeFile(REPORT, report);
  process.stdout.write(report);
}

/** Calldata gas of a transaction's data (EIP-2028: 16 per non-zero byte, 4 per zero byte). */
function calldataGas(data: string): number {
  return getBytes(data).reduce((g, b) => g + (b === 0 ? 4 : 16), 0);
}

/**
 * The zk request with the real digits MLP verifier and a real Groth16 proof: create + fulfill (one transaction
 * settles it), against the claim path (create + claim + submit + finalize). Steady state: the terms exist and the
 * operator and treasury already hold credit (the first request of a run pays for both once). Proofs are made
 * until none of their words has a zero byte, so calldata, and the report, are the same on every run. Then
 * fulfillBatch per inference for k = 1, 4, 16 with the batch verifier verifier-gen emits for the digits MLP,
 * under a forgeable test key (scripts/lib/forgeable-groth16.ts): the real packing, MSM and pairing.
 */
async function measureZk(): Promise<void> {
  const MLP = "models/build/digits-mlp";
  const md = loadModelDir(MLP);
  const pixels = (i: number) => Uint8Array.from(testSet.inputs[i]!);
  const steady = async (i: number): Promise<ProofFile> => {
    for (;;) {
      const p = await proveQuantized(md, Array.from(pixels(i)));
      if (![...p.calldata.a, ...p.calldata.b.flat(), ...p.calldata.c].some((w) => hasZeroByte(BigInt(w)))) return p;
    }
  };
  const zkSuite = await deploySuite(deployer!, { ...DEFAULT_PARAMETERS, treasury: treasury!.address });
  await deployZkModule(zkSuite, deployer!);
  const { modelId, verifier } = await registerZkModel(zkSuite.registry, deployer!, {
    buildDir: MLP,
    artifactURI: `file://${MLP}`,
    ethPrice: price,
    operatorStake: parseEther("1"),
  });
  await (await zkSuite.vault.connect(operator!).stake(parseEther("5"), { value: parseEther("5") })).wait();
  await (await zkSuite.vault.connect(operator!).setService(modelId, 0, true)).wait();
  const m = zkSuite.market;
  const terms = await m.termsHashOf(modelId, MODE_ZK);
  const create = async (i: number) => {
    const deadline = await deadlineIn(3600);
    const tx = m.connect(user!).createRequest(inlineEthRequest(modelId, MODE_ZK, pixels(i), price, deadline, terms), {
      value: price,
    });
    return { tx, id: (await m.requestCount()) + 1n };
  };
  const run = async (name: string, tx: Promise<ContractTransactionResponse>): Promise<number> => {
    await measure(name, tx);
    return gas[name]!;
  };

  // First request under its terms (records them), settled in one transaction.
  let r = await create(0);
  await run("zk: createRequest, first under its terms (digits MLP, ETH)", r.tx);
  let p = await steady(0);
  await run(
    "zk: fulfill, first payment to operator and treasury",
    m.connect(operator!).fulfill(r.id, encodeOutput(p.decoded.output), encodeZkProof(pixels(0), p.calldata)),
  );
  // Steady state, one transaction to settle.
  r = await create(1);
  const created = await run("zk: createRequest (digits MLP, ETH)", r.tx);
  p = await steady(1);
  const fulfill = m
    .connect(operator!)
    .fulfill(r.id, encodeOutput(p.decoded.output), encodeZkProof(pixels(1), p.calldata));
  const fulfilled = await run("zk: fulfill (real digits MLP verifier and proof)", fulfill);
  gas["zk: whole request, create + fulfill"] = created + fulfilled;
  // The proof check inside it: the verifier's own execution for the same proof (its transaction less the
  // base cost and its calldata).
  const v = await ethers.getContractAt(
    ["function verifyInference(uint256[2],uint256[2][2],uint256[2],bytes,int256[]) view returns (bool)"],
    verifier,
  );
  const verifyArgs = [p.calldata.a, p.calldata.b, p.calldata.c, hexlify(pixels(1)), p.decoded.output] as const;
  const estimate = Number(await v.getFunction("verifyInference").estimateGas(...verifyArgs));
  const data = v.interface.encodeFunctionData("verifyInference", verifyArgs);
  gas["zk: proof check (verifyInference execution)"] = estimate - 21_000 - calldataGas(data);
  // The same request through the claim path.
  r = await create(2);
  const c2 = await run("zk: createRequest, for the claim path", r.tx);
  const claimed = await run("zk: claim", m.connect(operator!).claim(r.id));
  p = await steady(2);
  const submitted = await run(
    "zk: submitResult (real proof)",
    m.connect(operator!).submitResult(r.id, encodeOutput(p.decoded.output), encodeZkProof(pixels(2), p.calldata)),
  );
  const finalized = await run("zk: finalize", m.finalize(r.id));
  gas["zk: whole request, create + claim + submit + finalize"] = c2 + claimed + submitted + finalized;

  // Batches: one proof settles k requests.
  for (const k of [1, 4, 16]) {
    const batch = await forgeableBatchVerifier(md, k);
    const suite = await deploySuite(deployer!, { ...DEFAULT_PARAMETERS, treasury: treasury!.address });
    await deployZkModule(suite, deployer!);
    const code = await new ContractFactory(batch.artifact.abi as object[], batch.artifact.bytecode, deployer!).deploy();
    const config = await zkConfigFor(await code.getAddress(), deployer!);
    const id = await registerModel(suite.registry, deployer!, {
      modelHash: md.manifest.modelHash,
      artifactURI: `file://${MLP}`,
      ethPrice: price,
      operatorStake: parseEther("1"),
      modes: [{ mode: MODE_ZK, config }],
    });
    await (await suite.vault.connect(operator!).stake(parseEther("5"), { value: parseEther("5") })).wait();
    await (await suite.vault.connect(operator!).setService(id, 0, true)).wait();
    const settle = async (slots: number[], n: number) => {
      const ids: bigint[] = [];
      for (const i of slots.slice(0, n)) {
        const deadline = await deadlineIn(3600);
        const q = quantizeInput(md.graph, testSet.inputs[i]!);
        await (
          await suite.market
            .connect(user!)
            .createRequest(inlineEthRequest(id, MODE_ZK, batch.slot(q).input, price, deadline), { value: price })
        ).wait();
        ids.push(await suite.market.requestCount());
      }
      const qs = slots.map((i) => quantizeInput(md.graph, testSet.inputs[i]!));
      const proof = encodeZkBatchProof(batch.prove(qs), qs.map(batch.slot));
      return suite.market.connect(operator!).fulfillBatch(ids, proof);
    };
    // Warm-up: a batch of one (terms recorded, operator and treasury credited).
    await (
      await settle(
        Array.from({ length: k }, () => 40),
        1,
      )
    ).wait();
    const slots = Array.from({ length: k }, (_, i) => 10 + i);
    const receipt = await (await settle(slots, k)).wait();
    gas[`zk: fulfillBatch k = ${k}, per inference (forgeable batch verifier)`] = Math.round(
      Number(receipt!.gasUsed) / k,
    );
    await batch.close();
  }
}

/**
 * BenchmarkRegistry: naming an attestation verifier and recording an attestation of the digits MLP on the first
 * 32 test digits. The verifier is the generated attestation template (4 public signals, the gas of any key) under
 * a forgeable test key (scripts/lib/forgeable-groth16.ts), so the report needs no 57k-constraint circuit; the real
 * key and proof are measured by scripts/bench-attest.ts.
 */
async function measureAttestation(): Promise<void> {
  const SAMPLES = 32;
  const md = loadModelDir("models/build/digits-mlp");
  const key = await forgeableKey(4, "veriml-forgeable-attestation");
  const contractName = "DigitsMlpBenchmark32ForgeableVerifier";
  const sol = emitAttestationVerifier(key.vk, {
    contractName,
    modelHash: md.manifest.modelHash,
    modelName: md.manifest.name,
    samples: SAMPLES,
  });
  const artifact = compileVerifier({ [`${contractName}.sol`]: sol }, `${contractName}.sol`, contractName);
  const verifier = await new ContractFactory(artifact.abi as object[], artifact.bytecode, deployer!).deploy();
  const id = await registerModel(registry, deployer!, {
    modelHash: md.manifest.modelHash,
    artifactURI: "file://models/build/digits-mlp",
    ethPrice: price,
    operatorStake: parseEther("1"),
    modes: [{ mode: 0, config: "0x" }],
  });
  const benchmark = await new BenchmarkRegistry__factory(deployer!).deploy(await registry.getAddress());
  await measure(
    "BenchmarkRegistry.setVerifier",
    benchmark.setVerifier(id, await verifier.getAddress(), artifact.codeHash),
  );
  const samples = samplesOf(md, {
    inputShape: [1, 64],
    inputs: testSet.inputs.slice(0, SAMPLES),
    labels: testSet.labels.slice(0, SAMPLES),
  });
  const dataset = datasetCommitment(md, samples);
  const correct = 31n;
  const proof = key.prove([dataset, BigInt(SAMPLES), correct, BigInt(deployer!.address)]).calldata;
  await measure(
    "BenchmarkRegistry.attest (32 samples, forgeable attestation verifier)",
    benchmark.attest(id, toBeHex(dataset, 32), SAMPLES, correct, proof),
  );
  await key.close();
}
