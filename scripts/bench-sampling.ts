/**
 * spML benchmark on Hardhat's in-process chain with the real contracts and real ONNX inference of the
 * digits MLP (onnxruntime-node on the integer model, through the operator's SamplingExecutor):
 *  - compute overhead versus plain inference: executions per request (A always, B when sampled) and wall
 *    time, at several p, against the expected 1 + p;
 *  - gas per request: unsampled, sampled and matched, and with a committee dispute (per transaction).
 * Writes bench/results/sampling.json.
 *
 * Run: npx hardhat run scripts/bench-sampling.ts      (BENCH_REQUESTS=n per p, default 100)
 */
import { decodeOutput, encodeOutput } from "../verifier-gen/src/encoding.js";
import { inlineEthRequest } from "./lib/requests.js";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { network } from "hardhat";
import { AbiCoder, ZeroAddress, keccak256, parseEther, type ContractTransactionResponse } from "ethers";
import { pino } from "pino";
import { SamplingExecutor, samplingCommitment } from "../operator/src/executors/sampling.js";
import { DEFAULT_PARAMETERS, deploySuite } from "./lib/deploy.js";
import { MODE_SAMPLING, deploySamplingModule, encodeSamplingConfig, registerSamplingModel } from "./lib/sampling.js";
import { devAccount } from "./lib/accounts.js";
import { deliverPendingRandomness } from "./lib/randomness.js";

const MLP = "models/build/digits-mlp";
const N = Number(process.env.BENCH_REQUESTS ?? 100);
const PS = [0, 0.1, 0.3, 0.5];
const PRICE = parseEther("0.01");
const abi = AbiCoder.defaultAbiCoder();
const { ethers, networkHelpers } = await network.create();
const signers = await ethers.getSigners();
const at = (i: number) => signers[i]!;
const [deployer, treasury, user, operator, b1, b2, v1, v2, v3] = [0, 1, 2, 3, 4, 5, 6, 7, 8].map(at) as [
  ReturnType<typeof at>,
  ReturnType<typeof at>,
  ReturnType<typeof at>,
  ReturnType<typeof at>,
  ReturnType<typeof at>,
  ReturnType<typeof at>,
  ReturnType<typeof at>,
  ReturnType<typeof at>,
  ReturnType<typeof at>,
];
const testSet = JSON.parse(await readFile("data/digits-test.json", "utf8")) as { inputs: number[][] };

const suite = await deploySuite(deployer, { ...DEFAULT_PARAMETERS, treasury: treasury.address });
const stack = await deploySamplingModule(suite, deployer, {
  committee: {
    committeeSize: 3,
    slashBps: 10_000,
    commitWindow: 600,
    revealWindow: 600,
    validatorStake: parseEther("1"),
  },
  arbitrationTimeout: 3 * 3600,
});
const baseConfig = {
  sampleBps: 0,
  verifierFeeBps: 10_000,
  samplerNoShowSlashBps: 2_000,
  maxDraws: 2,
  commitWindow: 600,
  revealWindow: 600,
  arbitrator: await stack.committee.getAddress(),
};
const { modelId } = await registerSamplingModel(suite.registry, deployer, {
  buildDir: MLP,
  artifactURI: `file://${MLP}`,
  ethPrice: PRICE,
  operatorStake: parseEther("0.1"),
  config: baseConfig,
});
for (const s of [operator, b1, b2]) {
  await suite.vault.connect(s).stake(parseEther("100"), { value: parseEther("100") });
  await suite.vault.connect(s).setService(modelId, 0, true);
}
for (const v of [v1, v2, v3]) {
  await suite.vault.connect(v).stake(parseEther("10"), { value: parseEther("10") });
  await suite.vault.connect(v).setService(modelId, 1, true);
}
const log = pino({ level: "silent" });
const executorOf = new Map<string, SamplingExecutor>();
for (const [i, s] of [operator, b1, b2, v1, v2, v3].entries()) {
  executorOf.set(s.address, await SamplingExecutor.create(MLP, devAccount(3 + i, ethers.provider).privateKey, log));
}
const signerOf = (address: string) => [operator, b1, b2, v1, v2, v3].find((s) => s.address === address)!;
const gasOf = async (tx: Promise<ContractTransactionResponse>): Promise<bigint> => (await (await tx).wait())!.gasUsed;

interface Run {
  gas: Record<string, bigint>;
  executions: number;
  inferenceMs: number;
  sampled: boolean;
}

/** One request through the protocol, each party running real inference; `cheat` makes A commit a wrong label. */
async function serve(sample: number, cheat = false): Promise<Run> {
  const gas: Record<string, bigint> = {};
  let executions = 0;
  let inferenceMs = 0;
  const input = Uint8Array.from(testSet.inputs[sample]!);
  const deadline = BigInt((await networkHelpers.time.latest()) + 7200);
  const [, fee] = await suite.market.quote(modelId, MODE_SAMPLING, ZeroAddress);
  gas.create = await gasOf(
    suite.market
      .connect(user)
      .createRequest(inlineEthRequest(modelId, MODE_SAMPLING, input, PRICE + fee, deadline), { value: PRICE + fee }),
  );
  const id = await suite.market.requestCount();
  const job = { requestId: id, input: ethers.hexlify(input), inputHash: keccak256(input), inputURI: "" };
  const run = async (address: string): Promise<string> => {
    const started = performance.now();
    const out = await executorOf.get(address)!.infer(job);
    inferenceMs += performance.now() - started;
    executions++;
    return out;
  };
  gas.claim = await gasOf(suite.market.connect(operator).claim(id));
  let aOut = await run(operator.address);
  if (cheat) aOut = encodeOutput([(decodeOutput(aOut)[0]! + 1n) % 10n]);
  const aSalt = executorOf.get(operator.address)!.salt("operator", id);
  const aCommit = samplingCommitment(id, operator.address, { output: aOut, salt: aSalt });
  gas.submitCommitment = await gasOf(
    suite.market.connect(operator).submitResult(id, "0x", abi.encode(["bytes32"], [aCommit])),
  );
  await deliverPendingRandomness(networkHelpers, user, stack.randomness);
  gas.decide = await gasOf(stack.sampling.advance(id));
  const state = await stack.sampling.getJob(id);
  if (state.sampler !== ZeroAddress) {
    const b = signerOf(state.sampler);
    const bOut = await run(b.address);
    const bSalt = executorOf.get(b.address)!.salt("sampler", id);
    gas.samplerCommit = await gasOf(
      stack.sampling.connect(b).commitSampler(id, samplingCommitment(id, b.address, { output: bOut, salt: bSalt })),
    );
    gas.operatorReveal = await gasOf(stack.sampling.connect(operator).reveal(id, aOut, aSalt));
    gas.samplerReveal = await gasOf(stack.sampling.connect(b).reveal(id, bOut, bSalt));
    if ((await stack.sampling.getJob(id)).phase === 5n) {
      const disputeId = await stack.committee.disputeCount();
      await deliverPendingRandomness(networkHelpers, user, stack.randomness);
      gas.drawCommittee = await gasOf(stack.committee.drawCommittee(disputeId));
      const members = await stack.committee.membersOf(disputeId);
      const votes: [string, string, string][] = [];
      for (const m of members) {
        const out = await run(m);
        const salt = executorOf.get(m)!.salt("validator", disputeId);
        votes.push([m, keccak256(out), salt]);
        const c = await stack.committee.voteCommitment(disputeId, m, keccak256(out), salt);
        gas.commitVotes =
          (gas.commitVotes ?? 0n) + (await gasOf(stack.committee.connect(signerOf(m)).commitVote(disputeId, c)));
      }
      for (const [m, h, s] of votes) {
        gas.revealVotes =
          (gas.revealVotes ?? 0n) + (await gasOf(stack.committee.connect(signerOf(m)).revealVote(disputeId, h, s)));
      }
      gas.resolveDispute = await gasOf(stack.committee.resolve(disputeId));
      gas.applyRuling = await gasOf(stack.sampling.advance(id));
    }
  } else {
    gas.operatorReveal = await gasOf(stack.sampling.connect(operator).reveal(id, aOut, aSalt));
  }
  gas.finalize = await gasOf(suite.market.finalize(id));
  return { gas, executions, inferenceMs, sampled: state.sampled };
}

const sum = (g: Record<string, bigint>): bigint => Object.values(g).reduce((a, b) => a + b, 0n);
const protocolGas = (g: Record<string, bigint>): bigint => sum(g) - (g.create ?? 0n) - (g.claim ?? 0n);

// Plain inference baseline: the same executor, one execution per request.
const base = executorOf.get(operator.address)!;
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  await base.infer({
    requestId: BigInt(i),
    input: ethers.hexlify(Uint8Array.from(testSet.inputs[i]!)),
    inputHash: keccak256(Uint8Array.from(testSet.inputs[i]!)),
    inputURI: "",
  });
}
const plainMs = (performance.now() - t0) / N;

const overhead = [];
let sample = 0;
for (const p of PS) {
  await suite.registry.configureMode(
    modelId,
    MODE_SAMPLING,
    encodeSamplingConfig({ ...baseConfig, sampleBps: Math.round(p * 10_000) }),
  );
  let executions = 0;
  let sampled = 0;
  let inferenceMs = 0;
  for (let i = 0; i < N; i++) {
    const r = await serve(sample++ % testSet.inputs.length);
    executions += r.executions;
    inferenceMs += r.inferenceMs;
    if (r.sampled) sampled++;
  }
  overhead.push({
    p,
    requests: N,
    sampledShare: sampled / N,
    executionsPerRequest: executions / N,
    expectedFactor: 1 + p,
    inferenceMsPerRequest: inferenceMs / N,
    plainInferenceMsPerRequest: plainMs,
    measuredTimeFactor: inferenceMs / N / plainMs,
  });
}

await suite.registry.configureMode(modelId, MODE_SAMPLING, encodeSamplingConfig({ ...baseConfig, sampleBps: 0 }));
const unsampled = await serve(100);
await suite.registry.configureMode(modelId, MODE_SAMPLING, encodeSamplingConfig({ ...baseConfig, sampleBps: 10_000 }));
const matched = await serve(101);
const disputed = await serve(102, true);
const gas = Object.fromEntries(
  (
    [
      ["unsampled", unsampled],
      ["sampledMatched", matched],
      ["disputedCommittee", disputed],
    ] as const
  ).map(([k, r]) => [
    k,
    {
      perTransaction: Object.fromEntries(Object.entries(r.gas).map(([t, g]) => [t, Number(g)])),
      protocolGas: Number(protocolGas(r.gas)),
      totalGas: Number(sum(r.gas)),
    },
  ]),
);

const result = {
  generatedBy: "scripts/bench-sampling.ts",
  model: "digits-mlp (integer ONNX, onnxruntime-node)",
  overhead,
  gas,
};
await mkdir("bench/results", { recursive: true });
await writeFile("bench/results/sampling.json", `${JSON.stringify(result, null, 2)}\n`);

console.log("compute overhead versus plain inference (real inference by every party that executes):");
console.log("    p  sampled  executions/request  expected 1+p  inference ms/request (plain)");
for (const o of overhead) {
  console.log(
    `${o.p.toFixed(2).padStart(5)}  ${(o.sampledShare * 100).toFixed(0).padStart(6)}%  ${o.executionsPerRequest.toFixed(3).padStart(18)}  ${o.expectedFactor.toFixed(2).padStart(12)}  ${o.inferenceMsPerRequest.toFixed(3)} (${o.plainInferenceMsPerRequest.toFixed(3)})`,
  );
}
console.log("\ngas per request (create and claim excluded from 'protocol'):");
for (const [k, v] of Object.entries(gas)) {
  console.log(
    `  ${k.padEnd(18)} protocol ${String(v.protocolGas).padStart(8)}  total ${String(v.totalGas).padStart(8)}  ${JSON.stringify(v.perTransaction)}`,
  );
}
for (const e of executorOf.values()) await e.release();
console.log("\nwrote bench/results/sampling.json");
