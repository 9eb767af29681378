// OptimisticArbitrator: spML disputes settled by the opML two-trace dissection game, with real traces of the
// committed digits MLP (reference interpreter), real Merkle proofs against the registered modelHash, and the
// SamplingModule as client.
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { network } from "hardhat";
import { AbiCoder, ZeroAddress, ZeroHash, hexlify, keccak256, parseEther, randomBytes } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { IntGraph } from "../../../verifier-gen/src/intgraph.js";
import { DEFAULT_PARAMETERS, deploySuite } from "../../../scripts/lib/deploy.js";
import {
  MODE_SAMPLING,
  deploySamplingModule,
  encodeSamplingConfig,
  registerSamplingModel,
  type SamplingConfig,
} from "../../../scripts/lib/sampling.js";
import { loadOptimisticModel } from "../../../operator/src/optimistic/model.js";
import {
  buildOneStepProof,
  commitTensors,
  commitTrace,
  descendants,
  outputOf,
  siblingsOf,
  type TraceCommitment,
} from "../../../operator/src/optimistic/trace.js";
import { fulfilAll } from "../../helpers/randomness.js";
import { OneStepExecutor__factory, OptimisticArbitrator__factory } from "../../../types/ethers-contracts/index.js";
import { settledOutput } from "../../../operator/src/chain/results.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;
const abi = AbiCoder.defaultAbiCoder();
const MLP = loadOptimisticModel("models/build/digits-mlp");
const PRICE = parseEther("0.01");
const STAKE = parseEther("1");
const FEE = PRICE;
const PROTOCOL_FEE = (PRICE * BigInt(DEFAULT_PARAMETERS.protocolFeeBps)) / 10_000n;
const WINDOW = 600;
const POST_WINDOW = 600;
const CLOCK = 600;
const ONE_STEP_WINDOW = 600;
const ARBITRATION_TIMEOUT = 3 * 3600;

enum Stage {
  None,
  Posting,
  Trace,
  Tensor,
  OneStep,
  Resolved,
}
enum Reason {
  None,
  UnknownModel,
  NoTrace,
  Timeout,
  OneStep,
  Padding,
  OneStepMissed,
  NotExecutable,
}
enum Verdict {
  None,
  AcceptedOperator,
  AcceptedSampler,
  Rejected,
}

type Commit = TraceCommitment;

const testSet = JSON.parse(readFileSync("data/digits-test.json", "utf8")) as { inputs: number[][]; labels: number[] };
const inputOf = (i: number): Uint8Array => Uint8Array.from(testSet.inputs[i]!);
const labelOf = (c: Commit): number => c.tensors[c.tensors.length - 1]![0]!;
const commitment = (requestId: bigint, party: string, output: string, salt: string): string =>
  keccak256(abi.encode(["uint256", "address", "bytes32", "bytes32"], [requestId, party, keccak256(output), salt]));
const salt = (): string => hexlify(randomBytes(32));

/** A copy of the graph with one weight (or bias) changed: a "cheaper model" whose whole trace is consistent. */
function tampered(graph: IntGraph, node: number, index: number, delta: number, field: "weight" | "bias"): IntGraph {
  const g = structuredClone(graph);
  const n = g.nodes[node]!;
  if (n.op !== "dense" && n.op !== "conv2d") throw new Error("tamper a dense/conv node");
  n[field][index] = n[field][index]! + delta;
  return g;
}

/** A trace equal to `honest` except for a different label (a party that lies about the output only). */
function relabelled(honest: TraceCommitment): Commit {
  const tensors = honest.tensors.map((t) => Array.from(t));
  const last = tensors.length - 1;
  tensors[last] = [(tensors[last]![0]! + 1) % 10];
  return commitTensors(tensors);
}

describe("OptimisticArbitrator", function () {
  this.timeout(180_000);

  async function deployFixture() {
    const [deployer, treasury, user, operator, b1, b2] = await ethers.getSigners();
    const suite = await deploySuite(deployer!, { ...DEFAULT_PARAMETERS, treasury: treasury!.address });
    const stack = await deploySamplingModule(suite, deployer!, {
      committee: { committeeSize: 3, slashBps: 10_000, commitWindow: WINDOW, revealWindow: WINDOW, validatorStake: 1n },
      arbitrationTimeout: ARBITRATION_TIMEOUT,
    });
    const executor = await new OneStepExecutor__factory(deployer!).deploy();
    const arbitrator = await new OptimisticArbitrator__factory(deployer!).deploy(
      deployer!.address,
      await suite.registry.getAddress(),
      await executor.getAddress(),
      await suite.market.getAddress(),
      { postWindow: POST_WINDOW, clock: CLOCK, oneStepWindow: ONE_STEP_WINDOW },
    );
    const arbitratorAddress = await arbitrator.getAddress();
    await arbitrator.setClient(await stack.sampling.getAddress(), true);
    await stack.sampling.setArbitratorAllowed(arbitratorAddress, true);
    const config: SamplingConfig = {
      sampleBps: 10_000,
      verifierFeeBps: 10_000,
      samplerNoShowSlashBps: 2_000,
      maxDraws: 2,
      commitWindow: WINDOW,
      revealWindow: WINDOW,
      arbitrator: arbitratorAddress,
    };
    const { modelId } = await registerSamplingModel(suite.registry, deployer!, {
      buildDir: MLP.dir,
      artifactURI: `file://${MLP.dir}`,
      ethPrice: PRICE,
      operatorStake: STAKE,
      config,
      optimisticArbitrator: arbitrator,
    });
    for (const op of [operator!, b1!, b2!]) {
      await suite.vault.connect(op).stake(parseEther("3"), { value: parseEther("3") });
      await suite.vault.connect(op).setService(modelId, 0, true);
    }
    return {
      ...suite,
      ...stack,
      arbitrator,
      executor,
      modelId,
      config,
      deployer: deployer!,
      user: user!,
      operator: operator!,
      samplers: [b1!, b2!],
    };
  }
  type Fixture = Awaited<ReturnType<typeof deployFixture>>;

  /**
   * A sampled request of sample `index` where A commits `aOutput` and the drawn sampler B `bOutput`; both
   * reveal, so the module escalates to the arbitrator. Returns the request and dispute ids and B.
   */
  async function disputed(f: Fixture, index: number, aOutput: string, bOutput: string) {
    const input = inputOf(index);
    const deadline = BigInt((await time.latest()) + 7200);
    await f.market.connect(f.user).createRequest(
      {
        modelId: f.modelId,
        mode: MODE_SAMPLING,
        token: ZeroAddress,
        maxFee: PRICE + FEE,
        deadline,
        input,
        inputHash: ZeroHash,
        inputURI: "",
        callback: ZeroAddress,
        callbackGasLimit: 0,
        termsHash: ZeroHash,
      },
      { value: PRICE + FEE },
    );
    const id = await f.market.requestCount();
    await f.market.connect(f.operator).claim(id);
    const aSalt = salt();
    await f.market
      .connect(f.operator)
      .submitResult(id, "0x", abi.encode(["bytes32"], [commitment(id, f.operator.address, aOutput, aSalt)]));
    await fulfilAll(networkHelpers, f.user, f.randomness);
    await f.sampling.advance(id);
    const job = await f.sampling.getJob(id);
    const b = f.samplers.find((s) => s.address === job.sampler)!;
    const bSalt = salt();
    await f.sampling.connect(b).commitSampler(id, commitment(id, b.address, bOutput, bSalt));
    await f.sampling.connect(f.operator).reveal(id, aOutput, aSalt);
    await expect(f.sampling.connect(b).reveal(id, bOutput, bSalt))
      .to.emit(f.sampling, "DisputeEscalated")
      .withArgs(id, await f.arbitrator.getAddress(), await f.arbitrator.disputeCount().then((n) => n + 1n));
    return { id, disputeId: await f.arbitrator.disputeCount(), b, input };
  }

  async function post(f: Fixture, disputeId: bigint, party: HardhatEthersSigner, c: Commit) {
    const last = c.tensorLevels.length - 1;
    return f.arbitrator.connect(party).postTrace(disputeId, c.traceRoot, outputOf(c), siblingsOf(c.traceLevels, last));
  }

  /**
   * Plays the dissection with both parties following their own traces; the honest one runs the one-step.
   * Returns the total gas of the arbitration (posting, reveals, one-step) and the number of transactions.
   */
  async function play(
    f: Fixture,
    disputeId: bigint,
    parties: [HardhatEthersSigner, HardhatEthersSigner],
    traces: [Commit, Commit],
    /** The party that runs the one-step (from its own trace). */
    honest: 0 | 1,
    input: Uint8Array,
  ) {
    let gas = 0n;
    let txs = 0;
    let oneStepGas = 0n;
    const track = async (tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>) => {
      const used = (await (await tx).wait())!.gasUsed;
      gas += used;
      txs += 1;
      return used;
    };
    await track(post(f, disputeId, parties[0], traces[0]));
    await track(post(f, disputeId, parties[1], traces[1]));
    let aChildren: string[] = [];
    for (;;) {
      const d = await f.arbitrator.getDispute(disputeId);
      const stage = Number(d.stage);
      if (stage === Stage.Resolved) break;
      const [level, position, tensor] = [Number(d.level), Number(d.position), Number(d.tensor)];
      if (stage === Stage.OneStep) {
        const own = traces[honest] as TraceCommitment;
        const proof = buildOneStepProof(MLP.graph, MLP.tree, own, tensor, position, input);
        oneStepGas = await track(f.arbitrator.connect(parties[honest]).oneStep(disputeId, honest, proof));
        continue;
      }
      const tree = (c: Commit) => (stage === Stage.Trace ? c.traceLevels : c.tensorLevels[tensor]!);
      if (!d.bToMove) {
        aChildren = descendants(tree(traces[0]), level, position);
        await track(f.arbitrator.connect(parties[0]).reveal(disputeId, aChildren, []));
      } else {
        const bChildren = descendants(tree(traces[1]), level, position);
        await track(f.arbitrator.connect(parties[1]).reveal(disputeId, bChildren, aChildren));
      }
    }
    return { gas, txs, oneStepGas, dispute: await f.arbitrator.getDispute(disputeId) };
  }

  it("rules for an honest sampler against a cheating operator: A slashed, requester gets B's result", async () => {
    const f = await networkHelpers.loadFixture(deployFixture);
    const input = inputOf(2);
    const honest = commitTrace(MLP.graph, input);
    // A ran a "cheaper model": an fc1 bias changed so much that the label flips; its trace is consistent.
    const cheat = commitTrace(tampered(MLP.graph, 0, 10, 10_000, "bias"), input);
    expect(labelOf(cheat)).to.not.equal(labelOf(honest));
    expect(labelOf(honest)).to.equal(testSet.labels[2]);
    const { id, disputeId, b } = await disputed(f, 2, outputOf(cheat), outputOf(honest));
    expect(await f.arbitrator.isResolved(disputeId)).to.equal(false);
    await expect(f.arbitrator.ruling(disputeId))
      .to.be.revertedWithCustomError(f.arbitrator, "OptimisticArbitratorNotResolved")
      .withArgs(disputeId);
    const res = await play(f, disputeId, [f.operator, b], [cheat, honest], 1, input);
    console.log(
      `      full arbitration (2 posts + ${res.txs - 3} reveals + one-step): ${res.gas} gas in ${res.txs} txs; ` +
        `one-step ${res.oneStepGas}`,
    );
    expect(res.dispute.reason).to.equal(BigInt(Reason.OneStep));
    // The first differing tensor is fc1's output (tensor 1): an element of a dense layer was recomputed.
    expect(res.dispute.tensor).to.equal(1n);
    const ruled = await f.arbitrator.ruling(disputeId);
    expect(ruled.decided).to.equal(true);
    expect(ruled.outputHash).to.equal(keccak256(outputOf(honest)));
    expect(ruled.rewarded).to.deep.equal([b.address]);
    await expect(f.sampling.advance(id))
      .to.emit(f.sampling, "VerdictReached")
      .withArgs(id, Verdict.AcceptedSampler, true, 0n, false);
    await expect(f.market.finalize(id))
      .to.emit(f.market, "RequestFinalized")
      .withArgs(id, b.address, outputOf(honest), PRICE - PROTOCOL_FEE, PROTOCOL_FEE);
    expect(await settledOutput(f.market, id)).to.equal(outputOf(honest));
    expect((await f.vault.stakeOf(f.operator.address)).total).to.equal(parseEther("3") - STAKE);
    expect((await f.vault.stakeOf(b.address)).locked).to.equal(0n);
    // B is paid as the operator, plus the verification fee for having played the game (its ruling reward).
    expect(await f.market.owed(b.address, ZeroAddress)).to.equal(PRICE - PROTOCOL_FEE + FEE);
  });

  it("rules for an honest operator against a lying sampler: B slashed for A, A's result stands", async () => {
    const f = await networkHelpers.loadFixture(deployFixture);
    const input = inputOf(4);
    const honest = commitTrace(MLP.graph, input);
    const liar = relabelled(honest);
    const { id, disputeId, b } = await disputed(f, 4, outputOf(honest), outputOf(liar));
    // A out of turn, B before A, a forged reveal.
    await post(f, disputeId, f.operator, honest);
    await expect(post(f, disputeId, f.operator, honest)).to.be.revertedWithCustomError(
      f.arbitrator,
      "OptimisticArbitratorNotYourMove",
    );
    await expect(post(f, disputeId, b, honest))
      .to.be.revertedWithCustomError(f.arbitrator, "OptimisticArbitratorClaimNotInTrace")
      .withArgs(disputeId, b.address, honest.traceRoot);
    await post(f, disputeId, b, liar);
    const first = descendants(honest.traceLevels, 0, 0);
    await expect(
      f.arbitrator.connect(b).reveal(disputeId, descendants(liar.traceLevels, 0, 0), first),
    ).to.be.revertedWithCustomError(f.arbitrator, "OptimisticArbitratorNotYourMove");
    await expect(
      f.arbitrator.connect(f.operator).reveal(disputeId, descendants(liar.traceLevels, 0, 0), []),
    ).to.be.revertedWithCustomError(f.arbitrator, "OptimisticArbitratorInconsistentReveal");
    await f.arbitrator.connect(f.operator).reveal(disputeId, first, []);
    await expect(
      f.arbitrator
        .connect(b)
        .reveal(disputeId, descendants(liar.traceLevels, 0, 0), descendants(liar.traceLevels, 0, 0)),
    ).to.be.revertedWithCustomError(f.arbitrator, "OptimisticArbitratorWrongOpponentReveal");
    await f.arbitrator.connect(b).reveal(disputeId, descendants(liar.traceLevels, 0, 0), first);
    // Finish the game from here.
    for (;;) {
      const d = await f.arbitrator.getDispute(disputeId);
      const stage = Number(d.stage);
      if (stage === Stage.Resolved) break;
      if (stage === Stage.OneStep) {
        const proof = buildOneStepProof(MLP.graph, MLP.tree, honest, Number(d.tensor), Number(d.position), input);
        // Anyone may run it; against either trace root.
        await expect(f.arbitrator.connect(f.user).oneStep(disputeId, 0, proof))
          .to.emit(f.arbitrator, "DisputeResolved")
          .withArgs(disputeId, true, keccak256(outputOf(honest)), f.operator.address, Reason.OneStep, anyValue);
        continue;
      }
      const tree = (c: Commit) => (stage === Stage.Trace ? c.traceLevels : c.tensorLevels[Number(d.tensor)]!);
      const a = descendants(tree(honest), Number(d.level), Number(d.position));
      await f.arbitrator.connect(f.operator).reveal(disputeId, a, []);
      await f.arbitrator.connect(b).reveal(disputeId, descendants(tree(liar), Number(d.level), Number(d.position)), a);
    }
    const d = await f.arbitrator.getDispute(disputeId);
    // Only the label differs: the argmax (last tensor) was recomputed.
    expect(d.tensor).to.equal(BigInt(MLP.tensorSizes.length - 1));
    await expect(f.sampling.advance(id))
      .to.emit(f.sampling, "VerdictReached")
      .withArgs(id, Verdict.AcceptedOperator, false, STAKE, false);
    await f.market.finalize(id);
    expect(await settledOutput(f.market, id)).to.equal(outputOf(honest));
    expect(labelOf(honest)).to.equal(testSet.labels[4]!);
    expect((await f.vault.stakeOf(b.address)).total).to.equal(parseEther("3") - STAKE);
    expect((await f.vault.stakeOf(f.operator.address)).total).to.equal(parseEther("3"));
    expect(await f.market.owed(f.operator.address, ZeroAddress)).to.equal(PRICE - PROTOCOL_FEE + FEE);
  });

  it("rules for neither when both traces are wrong at the disputed element: both slashed, requester refunded", async () => {
    const f = await networkHelpers.loadFixture(deployFixture);
    const input = inputOf(2);
    const honest = commitTrace(MLP.graph, input);
    // Two different "cheaper models" that disagree first at the same fc1 element, both wrongly.
    const a = commitTrace(tampered(MLP.graph, 0, 10, 10_000, "bias"), input);
    // B's changes fc1 bias 10 a little (the disputed element) and bias 29 a lot (its label).
    const b2 = commitTrace(tampered(tampered(MLP.graph, 0, 10, 100, "bias"), 0, 29, 10_000, "bias"), input);
    expect(new Set([labelOf(a), labelOf(b2), labelOf(honest)]).size).to.equal(3);
    const { id, disputeId, b } = await disputed(f, 2, outputOf(a), outputOf(b2));
    // A runs the one-step from its own trace (the disputed element's inputs are agreed); it loses anyway.
    const res = await play(f, disputeId, [f.operator, b], [a, b2], 0, input);
    expect(res.dispute.reason).to.equal(BigInt(Reason.OneStep));
    expect([res.dispute.tensor, res.dispute.position]).to.deep.equal([1n, 10n]);
    const ruled = await f.arbitrator.ruling(disputeId);
    expect([ruled.decided, ruled.outputHash, ruled.rewarded.length]).to.deep.equal([true, ZeroHash, 0]);
    await expect(f.sampling.advance(id))
      .to.emit(f.sampling, "VerdictReached")
      .withArgs(id, Verdict.Rejected, true, STAKE, false);
    await f.market.finalize(id);
    expect((await f.vault.stakeOf(f.operator.address)).total).to.equal(parseEther("3") - STAKE);
    expect((await f.vault.stakeOf(b.address)).total).to.equal(parseEther("3") - STAKE);
  });

  it("rules against a party that never posts its trace, and undecided when neither posts", async () => {
    const f = await networkHelpers.loadFixture(deployFixture);
    const input = inputOf(6);
    const honest = commitTrace(MLP.graph, input);
    const cheat = relabelled(honest);
    const { id, disputeId, b } = await disputed(f, 6, outputOf(cheat), outputOf(honest));
    await post(f, disputeId, b, honest);
    await expect(f.arbitrator.timeout(disputeId))
      .to.be.revertedWithCustomError(f.arbitrator, "OptimisticArbitratorNothingDue")
      .withArgs(disputeId, Stage.Posting);
    await time.increase(POST_WINDOW + 1);
    await expect(post(f, disputeId, f.operator, cheat)).to.be.revertedWithCustomError(
      f.arbitrator,
      "OptimisticArbitratorWindowClosed",
    );
    expect(await f.arbitrator.canTimeout(disputeId)).to.equal(true);
    await expect(f.arbitrator.timeout(disputeId))
      .to.emit(f.arbitrator, "DisputeResolved")
      .withArgs(disputeId, true, keccak256(outputOf(honest)), b.address, Reason.NoTrace, 0);
    await expect(f.sampling.advance(id))
      .to.emit(f.sampling, "VerdictReached")
      .withArgs(id, Verdict.AcceptedSampler, true, 0n, false);
    await f.market.finalize(id);
    expect(await settledOutput(f.market, id)).to.equal(outputOf(honest));
    expect((await f.vault.stakeOf(f.operator.address)).total).to.equal(parseEther("3") - STAKE);

    // Second request: nobody posts.
    const second = await disputed(
      f,
      7,
      outputOf(relabelled(commitTrace(MLP.graph, inputOf(7)))),
      outputOf(commitTrace(MLP.graph, inputOf(7))),
    );
    await time.increase(POST_WINDOW + 1);
    await expect(f.arbitrator.timeout(second.disputeId))
      .to.emit(f.arbitrator, "DisputeResolved")
      .withArgs(second.disputeId, false, ZeroHash, ZeroAddress, Reason.NoTrace, 0);
    await expect(f.sampling.advance(second.id))
      .to.emit(f.sampling, "VerdictReached")
      .withArgs(second.id, Verdict.Rejected, false, 0n, false);
  });

  it("makes a party that stops revealing lose on its chess clock, and bounds the ruling time", async () => {
    const f = await networkHelpers.loadFixture(deployFixture);
    const input = inputOf(2);
    const honest = commitTrace(MLP.graph, input);
    const cheat = commitTrace(tampered(MLP.graph, 0, 10, 10_000, "bias"), input);
    const { id, disputeId, b } = await disputed(f, 2, outputOf(cheat), outputOf(honest));
    expect(await f.arbitrator.maxResolutionTime()).to.equal(BigInt(POST_WINDOW + 2 * CLOCK + ONE_STEP_WINDOW + 3));
    expect(await f.arbitrator.maxResolutionTime()).to.be.lessThan(BigInt(ARBITRATION_TIMEOUT));
    await post(f, disputeId, f.operator, cheat);
    await post(f, disputeId, b, honest);
    // A reveals once, then B; A then stalls.
    const a0 = descendants(cheat.traceLevels, 0, 0);
    await f.arbitrator.connect(f.operator).reveal(disputeId, a0, []);
    await f.arbitrator.connect(b).reveal(disputeId, descendants(honest.traceLevels, 0, 0), a0);
    await time.increase(CLOCK - 10);
    expect(await f.arbitrator.canTimeout(disputeId)).to.equal(false);
    await time.increase(20);
    const d = await f.arbitrator.getDispute(disputeId);
    await expect(
      f.arbitrator
        .connect(f.operator)
        .reveal(disputeId, descendants(cheat.traceLevels, Number(d.level), Number(d.position)), []),
    ).to.be.revertedWithCustomError(f.arbitrator, "OptimisticArbitratorClockExpired");
    await expect(f.arbitrator.timeout(disputeId))
      .to.emit(f.arbitrator, "DisputeResolved")
      .withArgs(disputeId, true, keccak256(outputOf(honest)), b.address, Reason.Timeout, 2);
    await expect(f.sampling.advance(id))
      .to.emit(f.sampling, "VerdictReached")
      .withArgs(id, Verdict.AcceptedSampler, true, 0n, false);
  });

  it("guards its entry points: clients, claims, model commitments, parameters", async () => {
    const f = await networkHelpers.loadFixture(deployFixture);
    const parties: [string, string] = [f.operator.address, f.samplers[0]!.address];
    await expect(f.arbitrator.openDispute(1, f.modelId, ZeroHash, parties, [ZeroHash, keccak256("0x01")], f.user))
      .to.be.revertedWithCustomError(f.arbitrator, "OptimisticArbitratorNotClient")
      .withArgs(f.deployer.address);
    await f.arbitrator.setClient(f.deployer.address, true);
    await expect(f.arbitrator.openDispute(1, f.modelId, ZeroHash, parties, [ZeroHash, ZeroHash], f.user))
      .to.be.revertedWithCustomError(f.arbitrator, "OptimisticArbitratorSameClaims")
      .withArgs(ZeroHash);
    // The commitment preimage is keyed by the hash it is the preimage of: recording it twice is refused,
    // and a wrong preimage only describes a model that does not exist.
    const { leafCount, paramRoot, tensorSizes, modelHash } = MLP.tree.commitment;
    expect((await f.arbitrator.modelShapeOf(modelHash)).tensorSizes.map(Number)).to.deep.equal(tensorSizes);
    await expect(f.arbitrator.connect(f.user).setModelCommitment(leafCount, paramRoot, tensorSizes))
      .to.be.revertedWithCustomError(f.arbitrator, "OptimisticArbitratorBadTensorSizes")
      .withArgs(modelHash);
    await expect(f.arbitrator.setModelCommitment(leafCount, paramRoot, [4, 0, 1])).to.be.revertedWithCustomError(
      f.arbitrator,
      "OptimisticArbitratorBadTensorSizes",
    );
    expect(await f.arbitrator.supportsModel(f.modelId)).to.equal(true);
    // A model whose commitment is not recorded: the sampling module refuses a config naming the arbitrator,
    // and a dispute opened anyway (by another client) ends undecided at once.
    const committeeConfig = encodeSamplingConfig({ ...f.config, arbitrator: await f.committee.getAddress() });
    await f.registry.registerModel(keccak256("0x1234"), "ipfs://x", PRICE, STAKE, [
      { mode: MODE_SAMPLING, config: committeeConfig },
    ]);
    const otherId = await f.registry.modelCount();
    expect(await f.arbitrator.supportsModel(otherId)).to.equal(false);
    await expect(f.registry.configureMode(otherId, MODE_SAMPLING, encodeSamplingConfig(f.config)))
      .to.be.revertedWithCustomError(f.sampling, "SamplingModuleArbitratorCannotServe")
      .withArgs(await f.arbitrator.getAddress(), otherId);
    await expect(f.arbitrator.openDispute(1, otherId, ZeroHash, parties, [ZeroHash, keccak256("0x01")], f.user))
      .to.emit(f.arbitrator, "DisputeResolved")
      .withArgs(1n, false, ZeroHash, ZeroAddress, Reason.UnknownModel, 0);
    expect(await f.arbitrator.isResolved(1n)).to.equal(true);
    await expect(f.arbitrator.setParameters({ postWindow: 0, clock: CLOCK, oneStepWindow: 1 }))
      .to.be.revertedWithCustomError(f.arbitrator, "OptimisticArbitratorInvalidParameters")
      .withArgs(0, CLOCK, 1);
    await expect(f.arbitrator.connect(f.user).setClient(f.user.address, true)).to.be.revertedWithCustomError(
      f.arbitrator,
      "OwnableUnauthorizedAccount",
    );
    await expect(f.arbitrator.timeout(99))
      .to.be.revertedWithCustomError(f.arbitrator, "OptimisticArbitratorUnknownDispute")
      .withArgs(99);
    expect(await f.arbitrator.oneStepExecutor()).to.equal(await f.executor.getAddress());
    expect(await f.arbitrator.registry()).to.equal(await f.registry.getAddress());
    expect(await f.arbitrator.clock()).to.equal(await f.market.getAddress());
  });
});
