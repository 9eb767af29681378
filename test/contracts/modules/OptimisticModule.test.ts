// OptimisticModule + OneStepExecutor with real traces of the committed digits builds (reference
// interpreter), real Merkle proofs against the registered modelHash, and adversarial parties.
import { inlineEthRequest } from "../../../scripts/lib/requests.js";
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { network } from "hardhat";
import { AbiCoder, keccak256, parseEther, ZeroAddress, ZeroHash, type Signer } from "ethers";
import type { IntGraph } from "../../../verifier-gen/src/intgraph.js";
import { DEFAULT_PARAMETERS, deploySuite } from "../../../scripts/lib/deploy.js";
import {
  MODE_OPTIMISTIC,
  deployOptimisticModule,
  encodeOptimisticConfig,
  registerOptimisticModel,
} from "../../../scripts/lib/optimistic.js";
import { loadOptimisticModel } from "../../../operator/src/optimistic/model.js";
import {
  ModelTree,
  buildOneStepProof,
  commitTensors,
  commitTrace,
  encodeOutput,
  encodeSubmissionProof,
  outputOf,
  siblingsOf,
  type TraceCommitment,
} from "../../../operator/src/optimistic/trace.js";
import { requireDisputable } from "../../../operator/src/optimistic/model.js";
import { oneStepCost } from "../../../verifier-gen/src/onestep.js";
import { encodeInputBytes } from "../../../verifier-gen/src/encoding.js";
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import {
  Outcome,
  Phase,
  challengerOneStep,
  challengerPick,
  operatorReveal,
  type Reveal,
} from "../../../operator/src/optimistic/game.js";
import type { OptimisticModule } from "../../../types/ethers-contracts/index.js";
import { settledOutput } from "../../../operator/src/chain/results.js";

const { ethers, networkHelpers } = await network.create();
const abi = AbiCoder.defaultAbiCoder();
const MLP = loadOptimisticModel("models/build/digits-mlp");
const CNN = loadOptimisticModel("models/build/digits-cnn");
const PRICE = parseEther("0.01");
const STAKE = parseEther("1");
const BOND = parseEther("0.5");
const WINDOW = 600;
const CLOCK = 300;

const testSet = JSON.parse(readFileSync("data/digits-test.json", "utf8")) as { inputs: number[][]; labels: number[] };
const sample = (i: number): Uint8Array => Uint8Array.from(testSet.inputs[i]!);
const encodeLabel = (label: number): string => encodeOutput([label]);

/** A copy of the graph with one weight (or bias) changed: a "cheaper model" whose whole trace is consistent. */
function tampered(
  graph: IntGraph,
  node: number,
  weight: number,
  delta: number,
  field: "weight" | "bias" = "weight",
): IntGraph {
  const g = structuredClone(graph);
  const n = g.nodes[node]!;
  if (n.op !== "dense" && n.op !== "conv2d") throw new Error("tamper a dense/conv node");
  n[field][weight] = n[field][weight]! + delta;
  return g;
}

const ceilLog2 = (n: number) => Math.ceil(Math.log2(n));

describe("OptimisticModule", function () {
  this.timeout(180_000);

  async function deployFixture() {
    const [deployer, treasury, user, operator, challenger, second] = await ethers.getSigners();
    const suite = await deploySuite(deployer!, { ...DEFAULT_PARAMETERS, treasury: treasury!.address });
    const optimistic = await deployOptimisticModule(suite, deployer!);
    const common = {
      ethPrice: PRICE,
      operatorStake: STAKE,
      challengeWindow: WINDOW,
      clock: CLOCK,
      challengerBond: BOND,
    };
    const mlp = await registerOptimisticModel(suite.registry, deployer!, {
      ...common,
      buildDir: MLP.dir,
      artifactURI: "file://models/build/digits-mlp",
    });
    const cnn = await registerOptimisticModel(suite.registry, deployer!, {
      ...common,
      buildDir: CNN.dir,
      artifactURI: "file://models/build/digits-cnn",
    });
    for (const s of [operator!, challenger!, second!]) {
      await suite.vault.connect(s).stake(parseEther("5"), { value: parseEther("5") });
    }
    for (const id of [mlp.modelId, cnn.modelId]) await suite.vault.connect(operator!).setService(id, 0, true);
    return {
      ...suite,
      optimistic,
      mlpId: mlp.modelId,
      cnnId: cnn.modelId,
      deployer: deployer!,
      treasury: treasury!,
      user: user!,
      operator: operator!,
      challenger: challenger!,
      second: second!,
    };
  }
  type F = Awaited<ReturnType<typeof deployFixture>>;

  /** Creates and claims a request; returns its id. */
  async function claimed(f: F, modelId: bigint, input: Uint8Array): Promise<bigint> {
    const deadline = BigInt((await networkHelpers.time.latest()) + 3600);
    await f.market
      .connect(f.user)
      .createRequest(inlineEthRequest(modelId, MODE_OPTIMISTIC, input, PRICE, deadline), { value: PRICE });
    const id = await f.market.requestCount();
    await f.market.connect(f.operator).claim(id);
    return id;
  }

  async function submit(f: F, id: bigint, c: TraceCommitment, label: number) {
    return f.market.connect(f.operator).submitResult(id, encodeLabel(label), encodeSubmissionProof(c));
  }

  interface PlayOptions {
    /** The operator's commitment (what it submitted). */
    op: TraceCommitment;
    /** What the challenger believes is correct. */
    correct: TraceCommitment;
    graph: IntGraph;
    model: typeof MLP;
    input: Uint8Array;
    challenger?: Signer;
  }

  /** Plays a game to the end with both parties following their commitments; returns moves and gas. */
  async function play(f: F, id: bigint, o: PlayOptions) {
    const ch = o.challenger ?? f.challenger;
    const chAddr = await ch.getAddress();
    const reveals: Reveal[] = [];
    let gas = 0n;
    let txs = 0;
    let oneStepGas = 0n;
    const track = async (tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>) => {
      const r = await (await tx).wait();
      gas += r!.gasUsed;
      txs += 1;
      return r!.gasUsed;
    };
    await track(f.optimistic.connect(ch).challenge(id));
    let lastRevealed: string[] = [];
    for (;;) {
      const g = await f.optimistic.getGame(id, chAddr);
      const state = {
        phase: Number(g.phase),
        operatorToMove: g.operatorToMove,
        level: Number(g.level),
        tensor: Number(g.tensor),
        position: Number(g.position),
      };
      if (state.phase === Phase.Resolved) break;
      if (state.phase === Phase.OneStep) {
        const proof = challengerOneStep(
          o.graph,
          o.model.tree,
          o.correct,
          reveals,
          state.tensor,
          state.position,
          o.input,
        );
        oneStepGas = await track(f.optimistic.connect(ch).oneStep(id, chAddr, proof));
        continue;
      }
      if (state.operatorToMove) {
        lastRevealed = operatorReveal(o.op, state);
        if (state.phase === Phase.Trace)
          reveals.push({ level: state.level, position: state.position, children: lastRevealed });
        await track(f.optimistic.connect(f.operator).reveal(id, chAddr, lastRevealed));
      } else {
        const index = challengerPick(o.correct, state, lastRevealed);
        await track(f.optimistic.connect(ch).pick(id, lastRevealed, index < 0 ? 0 : index));
      }
    }
    return { gas, txs, oneStepGas, game: await f.optimistic.getGame(id, chAddr) };
  }

  describe("honest results", () => {
    it("finalizes an honest result only after the challenge window", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const input = sample(0);
      const id = await claimed(f, f.mlpId, input);
      const c = commitTrace(MLP.graph, input);
      const label = c.trace.output[0]!;
      expect(label).to.equal(testSet.labels[0]);
      await expect(submit(f, id, c, label)).to.emit(f.optimistic, "ResultProposed");
      expect(await f.optimistic.isFinal(id)).to.equal(false);
      await expect(f.market.finalize(id)).to.be.revertedWithCustomError(f.market, "InferenceMarketNotFinal");
      await networkHelpers.time.increase(WINDOW);
      expect(await f.optimistic.isFinal(id)).to.equal(true);
      const fee = (PRICE * BigInt(DEFAULT_PARAMETERS.protocolFeeBps)) / 10_000n;
      await expect(f.market.finalize(id))
        .to.emit(f.market, "RequestFinalized")
        .withArgs(id, f.operator.address, encodeLabel(label), PRICE - fee, fee);
      expect(await settledOutput(f.market, id)).to.equal(encodeLabel(label));
      await expect(f.optimistic.connect(f.challenger).challenge(id)).to.be.revertedWithCustomError(
        f.optimistic,
        "OptimisticModuleChallengeClosed",
      );
    });

    it("refuses a label that is not the last tensor of the committed trace", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const input = sample(1);
      const id = await claimed(f, f.mlpId, input);
      const c = commitTrace(MLP.graph, input);
      const wrong = (c.trace.output[0]! + 1) % 10;
      await expect(submit(f, id, c, wrong))
        .to.be.revertedWithCustomError(f.optimistic, "OptimisticModuleOutputNotInTrace")
        .withArgs(id, keccak256(encodeLabel(wrong)), c.traceRoot);
      expect((await f.market.getRequest(id)).status).to.equal(2n); // still Claimed
    });

    it("validates configs: windows, shapes, the model commitment preimage and the bond", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const { leafCount, paramRoot, tensorSizes } = MLP.tree.commitment;
      const min = Number(await f.optimistic.MIN_TIME());
      expect(min).to.be.at.least(300);
      const good = { challengeWindow: min, clock: min, challengerBond: BOND, leafCount, paramRoot, tensorSizes };
      await f.registry.configureMode(f.mlpId, MODE_OPTIMISTIC, encodeOptimisticConfig(good));
      const bad = [
        { ...good, challengeWindow: 0 },
        { ...good, clock: 0 },
        // A model owner's 1-second clock would lose every honest operator its stake on time (audit).
        { ...good, clock: 1 },
        { ...good, clock: min - 1 },
        { ...good, challengeWindow: min - 1 },
        { ...good, challengeWindow: 31 * 24 * 3600 },
        { ...good, tensorSizes: [64] },
        { ...good, tensorSizes: [64, 0, 1] },
      ];
      for (const cfg of bad) {
        await expect(f.registry.configureMode(f.mlpId, MODE_OPTIMISTIC, encodeOptimisticConfig(cfg)))
          .to.be.revertedWithCustomError(f.optimistic, "OptimisticModuleBadConfig")
          .withArgs(f.mlpId);
      }
      // Shapes or tree that are not the registered model's: a dispute could never be judged against them.
      for (const cfg of [
        { ...good, tensorSizes: [...tensorSizes.slice(0, -1), 2] },
        { ...good, leafCount: leafCount + 1 },
        { ...good, paramRoot: ZeroHash },
      ]) {
        await expect(
          f.registry.configureMode(f.mlpId, MODE_OPTIMISTIC, encodeOptimisticConfig(cfg)),
        ).to.be.revertedWithCustomError(f.optimistic, "OptimisticModuleModelMismatch");
      }
      // A zero (or too small) bond would let stake-less sybils open games for free.
      const minBond = await f.optimistic.minChallengerBond();
      expect(minBond).to.be.greaterThan(0n);
      await expect(
        f.registry.configureMode(f.mlpId, MODE_OPTIMISTIC, encodeOptimisticConfig({ ...good, challengerBond: 0n })),
      )
        .to.be.revertedWithCustomError(f.optimistic, "OptimisticModuleBondTooLow")
        .withArgs(0n, minBond);
      await expect(f.optimistic.setMinChallengerBond(0)).to.be.revertedWithCustomError(
        f.optimistic,
        "OptimisticModuleZeroMinimumBond",
      );
      await expect(f.optimistic.connect(f.user).setMinChallengerBond(1)).to.be.revertedWithCustomError(
        f.optimistic,
        "OwnableUnauthorizedAccount",
      );
      await expect(f.optimistic.setMinChallengerBond(BOND * 2n))
        .to.emit(f.optimistic, "MinChallengerBondSet")
        .withArgs(BOND * 2n);
      await expect(
        f.registry.configureMode(f.mlpId, MODE_OPTIMISTIC, encodeOptimisticConfig(good)),
      ).to.be.revertedWithCustomError(f.optimistic, "OptimisticModuleBondTooLow");
    });
  });

  describe("disputes", () => {
    it("catches a wrong MLP output by bisection and slashes the operator for the challenger", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const input = sample(2);
      const correct = commitTrace(MLP.graph, input);
      // an fc1 bias changed so much that the label flips
      const cheat = commitTrace(tampered(MLP.graph, 0, 10, 10_000, "bias"), input);
      expect(cheat.trace.output[0]).to.not.equal(correct.trace.output[0]);
      const id = await claimed(f, f.mlpId, input);
      await submit(f, id, cheat, cheat.trace.output[0]!);
      const before = await f.vault.stakeOf(f.operator.address);
      const res = await play(f, id, { op: cheat, correct, graph: MLP.graph, model: MLP, input });
      expect(res.game.outcome).to.equal(BigInt(Outcome.ChallengerWon));
      expect(res.game.tensor).to.equal(1n); // fc1 output: the first wrong tensor
      const bound = ceilLog2(MLP.tensorSizes.length) + ceilLog2(32) + 3;
      expect(res.txs).to.be.at.most(bound);
      expect(await f.optimistic.isFinal(id)).to.equal(true);
      await expect(f.market.finalize(id)).to.emit(f.market, "RequestRejected").withArgs(id, f.operator.address, STAKE);
      expect((await f.vault.stakeOf(f.operator.address)).total).to.equal(before.total - STAKE);
      const share = (STAKE * BigInt(DEFAULT_PARAMETERS.slashBeneficiaryShareBps)) / 10_000n;
      expect(await f.vault.slashProceedsOf(f.challenger.address)).to.equal(share);
      expect(await f.market.owed(f.user.address, ZeroAddress)).to.equal(PRICE); // requester refunded
      const chStake = await f.vault.stakeOf(f.challenger.address);
      expect(chStake.locked).to.equal(0n);
      expect(chStake.total).to.equal(parseEther("5"));
    });

    it("catches a wrong CNN trace in the conv layer", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const input = sample(3);
      const correct = commitTrace(CNN.graph, input);
      const cheat = commitTrace(tampered(CNN.graph, 0, 4, 50), input);
      const id = await claimed(f, f.cnnId, input);
      await submit(f, id, cheat, cheat.trace.output[0]!);
      const res = await play(f, id, { op: cheat, correct, graph: CNN.graph, model: CNN, input });
      expect(res.game.outcome).to.equal(BigInt(Outcome.ChallengerWon));
      expect(res.game.tensor).to.equal(1n);
      expect(res.txs).to.be.at.most(ceilLog2(CNN.tensorSizes.length) + ceilLog2(216) + 3);
      await expect(f.market.finalize(id)).to.emit(f.market, "RequestRejected");
    });

    it("catches a lazy operator that only changed the label (argmax one-step)", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const input = sample(4);
      const correct = commitTrace(MLP.graph, input);
      const tensors = correct.tensors.map((t) => Float64Array.from(t));
      const wrong = (correct.trace.output[0]! + 3) % 10;
      tensors[tensors.length - 1] = Float64Array.of(wrong);
      const cheat = commitTensors(tensors);
      const id = await claimed(f, f.mlpId, input);
      await submit(f, id, cheat, wrong);
      const res = await play(f, id, { op: cheat, correct, graph: MLP.graph, model: MLP, input });
      expect(res.game.outcome).to.equal(BigInt(Outcome.ChallengerWon));
      expect(res.game.tensor).to.equal(BigInt(MLP.tensorSizes.length - 1));
    });

    it("catches a wrong quantized input (tensor 0 checked against the request input bytes)", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const input = sample(5);
      const correct = commitTrace(MLP.graph, input);
      const other = Uint8Array.from(input);
      other[10] = (other[10]! + 5) % 17;
      const cheat = commitTrace(MLP.graph, other);
      const id = await claimed(f, f.mlpId, input);
      await submit(f, id, cheat, cheat.trace.output[0]!);
      const res = await play(f, id, { op: cheat, correct, graph: MLP.graph, model: MLP, input });
      expect(res.game.outcome).to.equal(BigInt(Outcome.ChallengerWon));
      expect(res.game.tensor).to.equal(0n);
      expect(res.game.position).to.equal(10n);
    });

    it("a false challenge loses the challenger's bond to the operator and the result stands", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const input = sample(6);
      const c = commitTrace(MLP.graph, input);
      const id = await claimed(f, f.mlpId, input);
      await submit(f, id, c, c.trace.output[0]!);
      // the challenger believes in a tampered model
      const believed = commitTrace(tampered(MLP.graph, 2, 3, 90), input);
      const res = await play(f, id, { op: c, correct: believed, graph: MLP.graph, model: MLP, input });
      expect(res.game.outcome).to.equal(BigInt(Outcome.OperatorWon));
      expect((await f.vault.stakeOf(f.challenger.address)).total).to.equal(parseEther("5") - BOND);
      const share = (BOND * BigInt(DEFAULT_PARAMETERS.slashBeneficiaryShareBps)) / 10_000n;
      expect(await f.vault.slashProceedsOf(f.operator.address)).to.equal(share);
      expect(await f.optimistic.isFinal(id)).to.equal(false); // window still open
      await networkHelpers.time.increase(WINDOW);
      await expect(f.market.finalize(id)).to.emit(f.market, "RequestFinalized");
    });

    it("a challenger disputing an honest zero padding leaf loses", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const input = sample(7);
      const c = commitTrace(MLP.graph, input);
      const id = await claimed(f, f.mlpId, input);
      await submit(f, id, c, c.trace.output[0]!);
      await f.optimistic.connect(f.challenger).challenge(id);
      const children = operatorReveal(c, {
        phase: Phase.Trace,
        operatorToMove: true,
        level: 0,
        tensor: 0,
        position: 0,
      });
      await f.optimistic.connect(f.operator).reveal(id, f.challenger.address, children);
      await expect(f.optimistic.connect(f.challenger).pick(id, children, 7))
        .to.emit(f.optimistic, "GameResolved")
        .withArgs(id, f.challenger.address, Outcome.OperatorWon, 2 /* Padding */, 2);
    });
  });

  describe("clocks", () => {
    it("an operator that stops answering loses on time", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const input = sample(8);
      const c = commitTrace(MLP.graph, input);
      const id = await claimed(f, f.mlpId, input);
      await submit(f, id, c, c.trace.output[0]!);
      await f.optimistic.connect(f.challenger).challenge(id);
      await expect(f.optimistic.timeout(id, f.challenger.address)).to.be.revertedWithCustomError(
        f.optimistic,
        "OptimisticModuleClockRunning",
      );
      await networkHelpers.time.increase(CLOCK + 1);
      const children = operatorReveal(c, {
        phase: Phase.Trace,
        operatorToMove: true,
        level: 0,
        tensor: 0,
        position: 0,
      });
      await expect(
        f.optimistic.connect(f.operator).reveal(id, f.challenger.address, children),
      ).to.be.revertedWithCustomError(f.optimistic, "OptimisticModuleClockExpired");
      await expect(f.optimistic.timeout(id, f.challenger.address))
        .to.emit(f.optimistic, "GameResolved")
        .withArgs(id, f.challenger.address, Outcome.ChallengerWon, 3 /* OperatorTimeout */, 0);
      await expect(f.market.finalize(id)).to.emit(f.market, "RequestRejected");
    });

    it("a challenger that stops playing loses on time, and the clock is a total budget", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const input = sample(9);
      const c = commitTrace(MLP.graph, input);
      const id = await claimed(f, f.mlpId, input);
      await submit(f, id, c, c.trace.output[0]!);
      await f.optimistic.connect(f.challenger).challenge(id);
      await networkHelpers.time.increase(CLOCK / 2);
      const children = operatorReveal(c, {
        phase: Phase.Trace,
        operatorToMove: true,
        level: 0,
        tensor: 0,
        position: 0,
      });
      await f.optimistic.connect(f.operator).reveal(id, f.challenger.address, children);
      const g = await f.optimistic.getGame(id, f.challenger.address);
      expect(g.operatorClock).to.be.lessThan(BigInt(CLOCK / 2));
      await networkHelpers.time.increase(CLOCK + 1);
      await expect(f.optimistic.connect(f.challenger).pick(id, children, 1)).to.be.revertedWithCustomError(
        f.optimistic,
        "OptimisticModuleClockExpired",
      );
      await expect(f.optimistic.timeout(id, f.challenger.address))
        .to.emit(f.optimistic, "GameResolved")
        .withArgs(id, f.challenger.address, Outcome.OperatorWon, 4 /* ChallengerTimeout */, 1);
      expect((await f.vault.stakeOf(f.challenger.address)).total).to.equal(parseEther("5") - BOND);
    });
  });

  describe("adversarial proofs and moves", () => {
    /** Plays a cheating MLP dispute up to the one-step; returns what is needed to finish it. */
    async function toOneStep(f: F) {
      const input = sample(10);
      const correct = commitTrace(MLP.graph, input);
      const cheat = commitTrace(tampered(MLP.graph, 0, 3, 500, "bias"), input);
      const id = await claimed(f, f.mlpId, input);
      await submit(f, id, cheat, cheat.trace.output[0]!);
      await f.optimistic.connect(f.challenger).challenge(id);
      const reveals: Reveal[] = [];
      for (;;) {
        const g = await f.optimistic.getGame(id, f.challenger.address);
        const s = {
          phase: Number(g.phase),
          operatorToMove: g.operatorToMove,
          level: Number(g.level),
          tensor: Number(g.tensor),
          position: Number(g.position),
        };
        if (s.phase === Phase.OneStep)
          return { id, input, correct, cheat, reveals, tensor: s.tensor, element: s.position };
        const children = operatorReveal(cheat, s);
        if (s.phase === Phase.Trace) reveals.push({ level: s.level, position: s.position, children });
        await f.optimistic.connect(f.operator).reveal(id, f.challenger.address, children);
        await f.optimistic.connect(f.challenger).pick(id, children, challengerPick(correct, s, children));
      }
    }

    it("rejects forged Merkle proofs in the one-step and accepts the genuine one", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const d = await toOneStep(f);
      const genuine = challengerOneStep(MLP.graph, MLP.tree, d.correct, d.reveals, d.tensor, d.element, d.input);
      const ch = f.challenger.address;
      const exec = await ethers.getContractAt("OneStepExecutor", await f.optimistic.oneStepExecutor());
      // a forged weight (the cheater's own weight, which is not in the registered model)
      const forgedWeight = structuredClone(genuine);
      const w = forgedWeight.params.findIndex((p) => p.param === 3);
      forgedWeight.params[w]!.values[5]! += 200n;
      await expect(f.optimistic.oneStep(d.id, ch, forgedWeight))
        .to.be.revertedWithCustomError(exec, "OneStepExecutorBadModelProof")
        .withArgs(0, 3, forgedWeight.params[w]!.index);
      // a forged input element (the input tensor is read as one run)
      const forgedElement = structuredClone(genuine);
      forgedElement.elements[0]!.values[5]! += 1n;
      await expect(f.optimistic.oneStep(d.id, ch, forgedElement))
        .to.be.revertedWithCustomError(exec, "OneStepExecutorBadElementProof")
        .withArgs(0, 0);
      // a forged input tensor root
      const forgedRoot = structuredClone(genuine);
      forgedRoot.inputs[0]!.root = ZeroHash;
      await expect(f.optimistic.oneStep(d.id, ch, forgedRoot)).to.be.revertedWithCustomError(
        exec,
        "OneStepExecutorBadTensorProof",
      );
      // params out of order
      const reordered = structuredClone(genuine);
      [reordered.params[3], reordered.params[4]] = [reordered.params[4]!, reordered.params[3]!];
      await expect(f.optimistic.oneStep(d.id, ch, reordered)).to.be.revertedWithCustomError(
        exec,
        "OneStepExecutorUnexpectedParam",
      );
      // the operator's own view of its inputs cannot rescue it either: same inputs, real weights
      const byOperator = buildOneStepProof(MLP.graph, MLP.tree, d.cheat, d.tensor, d.element, d.input);
      await expect(f.optimistic.connect(f.operator).oneStep(d.id, ch, byOperator))
        .to.emit(f.optimistic, "GameResolved")
        .withArgs(d.id, ch, Outcome.ChallengerWon, 1 /* OneStep */, 7); // 2 + 2*2 rounds + one-step
    });

    it("an operator that reveals from a different trace than it committed cannot move and loses", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const input = sample(11);
      const correct = commitTrace(MLP.graph, input);
      const cheat = commitTrace(tampered(MLP.graph, 0, 5, 500, "bias"), input);
      const id = await claimed(f, f.mlpId, input);
      await submit(f, id, cheat, cheat.trace.output[0]!);
      await f.optimistic.connect(f.challenger).challenge(id);
      const s = { phase: Phase.Trace, operatorToMove: true, level: 0, tensor: 0, position: 0 };
      // switches to the honest trace once challenged
      await expect(f.optimistic.connect(f.operator).reveal(id, f.challenger.address, operatorReveal(correct, s)))
        .to.be.revertedWithCustomError(f.optimistic, "OptimisticModuleInconsistentReveal")
        .withArgs(id, f.challenger.address, cheat.traceRoot, correct.traceRoot);
      // a wrong count of nodes
      await expect(
        f.optimistic.connect(f.operator).reveal(id, f.challenger.address, operatorReveal(cheat, s).slice(0, 4)),
      ).to.be.revertedWithCustomError(f.optimistic, "OptimisticModuleInconsistentReveal");
      // only the operator reveals, only the challenger picks, picks must match the reveal
      await expect(
        f.optimistic.connect(f.second).reveal(id, f.challenger.address, operatorReveal(cheat, s)),
      ).to.be.revertedWithCustomError(f.optimistic, "OptimisticModuleNotYourMove");
      const children = operatorReveal(cheat, s);
      await f.optimistic.connect(f.operator).reveal(id, f.challenger.address, children);
      const altered = [...children];
      altered[0] = ZeroHash;
      await expect(f.optimistic.connect(f.challenger).pick(id, altered, 1)).to.be.revertedWithCustomError(
        f.optimistic,
        "OptimisticModuleBadPick",
      );
      await f.optimistic.connect(f.challenger).pick(id, children, 1);
      // phase 2: the operator cannot produce a consistent reveal from the honest tensor either
      const s2 = { phase: Phase.Tensor, operatorToMove: true, level: 0, tensor: 1, position: 0 };
      await expect(
        f.optimistic.connect(f.operator).reveal(id, f.challenger.address, operatorReveal(correct, s2)),
      ).to.be.revertedWithCustomError(f.optimistic, "OptimisticModuleInconsistentReveal");
      await networkHelpers.time.increase(CLOCK + 1);
      await expect(f.optimistic.timeout(id, f.challenger.address))
        .to.emit(f.optimistic, "GameResolved")
        .withArgs(id, f.challenger.address, Outcome.ChallengerWon, 3, 2);
    });

    it("runs games in parallel: a colluding challenger cannot shield a wrong result", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const input = sample(12);
      const correct = commitTrace(MLP.graph, input);
      const cheat = commitTrace(tampered(MLP.graph, 0, 7, 500, "bias"), input);
      const id = await claimed(f, f.mlpId, input);
      await submit(f, id, cheat, cheat.trace.output[0]!);
      await expect(f.optimistic.connect(f.operator).challenge(id)).to.be.revertedWithCustomError(
        f.optimistic,
        "OptimisticModuleCannotChallenge",
      );
      // the colluder challenges first and then plays nothing
      await f.optimistic.connect(f.second).challenge(id);
      await expect(f.optimistic.connect(f.second).challenge(id)).to.be.revertedWithCustomError(
        f.optimistic,
        "OptimisticModuleCannotChallenge",
      );
      const res = await play(f, id, { op: cheat, correct, graph: MLP.graph, model: MLP, input });
      expect(res.game.outcome).to.equal(BigInt(Outcome.ChallengerWon));
      expect(await f.optimistic.challengersOf(id)).to.deep.equal([f.second.address, f.challenger.address]);
      await expect(f.optimistic.timeout(id, f.second.address)).to.be.revertedWithCustomError(
        f.optimistic,
        "OptimisticModuleChallengeClosed",
      );
      await expect(f.optimistic.releaseBond(id, f.second.address))
        .to.emit(f.optimistic, "GameResolved")
        .withArgs(id, f.second.address, Outcome.Cancelled, 5, 0);
      expect((await f.vault.stakeOf(f.second.address)).locked).to.equal(0n);
      await expect(f.market.finalize(id)).to.emit(f.market, "RequestRejected").withArgs(id, f.operator.address, STAKE);
      expect(await f.vault.slashProceedsOf(f.challenger.address)).to.be.greaterThan(0n);
    });

    it("a challenger needs free stake for the bond", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const input = sample(13);
      const c = commitTrace(MLP.graph, input);
      const id = await claimed(f, f.mlpId, input);
      await submit(f, id, c, c.trace.output[0]!);
      await expect(f.optimistic.connect(f.user).challenge(id)).to.be.revertedWithCustomError(
        f.vault,
        "StakingVaultInsufficientFreeStake",
      );
      expect(await f.optimistic.challengersOf(id)).to.deep.equal([]);
    });
  });

  describe("soundness: paths of exact length in their own tree only (issue 10, items 1-2)", () => {
    it("refuses an output proven by a path that ends inside another tensor (the input-pixel exploit)", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const input = sample(14);
      const c = commitTrace(MLP.graph, input);
      const id = await claimed(f, f.mlpId, input);
      const last = c.tensorLevels.length - 1;
      const traceDepth = c.traceLevels.length - 1;
      // The old exploit: "label" = input pixel `last`, proven through tensor 0's tree then the trace tree.
      const pixel = c.tensors[0]![last]!;
      const overLong = [...siblingsOf(c.tensorLevels[0]!, last), ...siblingsOf(c.traceLevels, 0)];
      const proofs = [
        overLong,
        siblingsOf(c.traceLevels, last).slice(1), // over-short
        [...siblingsOf(c.traceLevels, last), ZeroHash], // over-long by one
        siblingsOf(c.traceLevels, 0), // another tensor's position
      ];
      for (const outputSiblings of proofs) {
        const proof = abi.encode(
          ["tuple(bytes32 traceRoot, bytes32[] outputSiblings)"],
          [{ traceRoot: c.traceRoot, outputSiblings }],
        );
        await expect(
          f.market.connect(f.operator).submitResult(id, encodeLabel(pixel), proof),
        ).to.be.revertedWithCustomError(f.optimistic, "OptimisticModuleOutputNotInTrace");
      }
      expect(traceDepth).to.equal(siblingsOf(c.traceLevels, last).length);
      // Non-canonical or wrongly sized outputs are refused too.
      for (const output of [
        encodeOutput([1, 2]),
        encodeLabel(c.trace.output[0]!) + "00",
        abi.encode(["uint256"], [3]),
      ]) {
        await expect(
          f.market.connect(f.operator).submitResult(id, output, encodeSubmissionProof(c)),
        ).to.be.revertedWithCustomError(f.optimistic, "OptimisticModuleOutputNotInTrace");
      }
      await expect(submit(f, id, c, c.trace.output[0]!)).to.emit(f.optimistic, "ResultProposed");
    });

    it("a malicious challenger cannot slash an honest operator with forged tensor roots, elements or weights", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const input = sample(15);
      const c = commitTrace(MLP.graph, input);
      const id = await claimed(f, f.mlpId, input);
      await submit(f, id, c, c.trace.output[0]!);
      // The challenger "believes" fc1 differs and descends to a fc1 element; the operator answers honestly.
      const believed = commitTrace(tampered(MLP.graph, 0, 3, 900, "bias"), input);
      await f.optimistic.connect(f.challenger).challenge(id);
      for (;;) {
        const g = await f.optimistic.getGame(id, f.challenger.address);
        const s = {
          phase: Number(g.phase),
          operatorToMove: g.operatorToMove,
          level: Number(g.level),
          tensor: Number(g.tensor),
          position: Number(g.position),
        };
        if (s.phase === Phase.OneStep) break;
        const children = operatorReveal(c, s);
        await f.optimistic.connect(f.operator).reveal(id, f.challenger.address, children);
        await f.optimistic.connect(f.challenger).pick(id, children, Math.max(0, challengerPick(believed, s, children)));
      }
      const g = await f.optimistic.getGame(id, f.challenger.address);
      expect(g.tensor).to.equal(1n); // fc1's output: a dense element reading the whole input tensor
      const tensor = Number(g.tensor);
      const element = Number(g.position);
      const genuine = buildOneStepProof(MLP.graph, MLP.tree, c, tensor, element, input);
      const exec = await ethers.getContractAt("OneStepExecutor", await f.optimistic.oneStepExecutor());
      const ch = f.challenger.address;
      const id0 = 0;
      const attempts: [string, typeof genuine][] = [];
      // A believed element root for the input tensor, proven as (a) an inner node of the trace tree, (b) another
      // tensor's leaf, (c) with an over-long path.
      const inner = structuredClone(genuine);
      inner.inputs[0] = { root: c.traceLevels[1]![0]!, siblings: siblingsOf(c.traceLevels, 0).slice(1) };
      attempts.push(["inner trace node", inner]);
      const cross = structuredClone(genuine);
      cross.inputs[0] = {
        root: c.tensorLevels[id0 + 1]![c.tensorLevels[id0 + 1]!.length - 1]![0]!,
        siblings: siblingsOf(c.traceLevels, id0 + 1),
      };
      attempts.push(["another tensor's root", cross]);
      const longer = structuredClone(genuine);
      longer.inputs[0]!.siblings = [...longer.inputs[0]!.siblings, ZeroHash];
      attempts.push(["over-long tensor path", longer]);
      for (const [what, proof] of attempts) {
        await expect(f.optimistic.oneStep(id, ch, proof), what).to.be.revertedWithCustomError(
          exec,
          "OneStepExecutorBadTensorProof",
        );
      }
      // The dense element reads all of tensor 0 as one run: no siblings, so any sibling is one too many.
      expect(genuine.elements[0]!.siblings).to.deep.equal([]);
      const longElement = structuredClone(genuine);
      longElement.elements[0]!.siblings = [ZeroHash];
      await expect(f.optimistic.oneStep(id, ch, longElement)).to.be.revertedWithCustomError(
        exec,
        "OneStepExecutorBadElementProof",
      );
      const shortParam = structuredClone(genuine);
      shortParam.params[0]!.siblings = shortParam.params[0]!.siblings.slice(1);
      await expect(f.optimistic.oneStep(id, ch, shortParam)).to.be.revertedWithCustomError(
        exec,
        "OneStepExecutorBadModelProof",
      );
      const longParam = structuredClone(genuine);
      longParam.params[0]!.siblings = [...longParam.params[0]!.siblings, ZeroHash];
      await expect(f.optimistic.oneStep(id, ch, longParam)).to.be.revertedWithCustomError(
        exec,
        "OneStepExecutorBadModelProof",
      );
      const extra = structuredClone(genuine);
      extra.elements.push(structuredClone(extra.elements[0]!));
      await expect(f.optimistic.oneStep(id, ch, extra)).to.be.revertedWithCustomError(exec, "OneStepExecutorExtraData");
      // Whoever runs the genuine one-step (here the challenger itself), the honest operator wins.
      await expect(f.optimistic.connect(f.challenger).oneStep(id, ch, genuine))
        .to.emit(f.optimistic, "GameResolved")
        .withArgs(id, ch, Outcome.OperatorWon, 1 /* OneStep */, anyValue);
      expect((await f.vault.stakeOf(f.operator.address)).locked).to.equal(STAKE); // lock intact until finalize
    });
  });

  describe("one-step gas bound (issue 10, item 3)", () => {
    /** input [1, n] signed, dense n -> 2, argmax: the one-step of a dense element reads n weights and n inputs. */
    function wide(n: number, bias = 0): IntGraph {
      return {
        format: "veriml-intgraph",
        version: 1,
        name: `wide-${n}`,
        bits: 8,
        input: { shape: [1, n], scale: 1, lo: -127, hi: 127 },
        nodes: [
          {
            name: "fc",
            op: "dense",
            input: 0,
            inF: n,
            outF: 2,
            shape: [1, 2],
            weight: Array.from({ length: 2 * n }, (_, i) => ((i * 7) % 5) - 2),
            bias: [bias, 1],
          },
          { name: "label", op: "argmax", input: 1, shape: [1] },
        ],
        output: { kind: "argmax", tensor: 2, logits: 1, scale: [1] },
      };
    }

    async function disputeDense(f: F, n: number) {
      const graph = wide(n);
      const tree = new ModelTree(graph);
      const { leafCount, paramRoot, tensorSizes, modelHash } = tree.commitment;
      const config = encodeOptimisticConfig({
        challengeWindow: WINDOW,
        clock: CLOCK,
        challengerBond: BOND,
        leafCount,
        paramRoot,
        tensorSizes,
      });
      await f.registry.registerModel(modelHash, "file://wide", PRICE, STAKE, [{ mode: MODE_OPTIMISTIC, config }]);
      const modelId = await f.registry.modelCount();
      await f.vault.connect(f.operator).setService(modelId, 0, true);
      const q = Array.from({ length: n }, (_, i) => ((i * 13) % 255) - 127);
      const input = encodeInputBytes(graph, q);
      const correct = commitTrace(graph, q);
      const cheat = commitTrace(wide(n, 1_000_000), q);
      const id = await claimed(f, modelId, input);
      await f.market.connect(f.operator).submitResult(id, outputOf(cheat), encodeSubmissionProof(cheat));
      await f.optimistic.connect(f.challenger).challenge(id);
      for (;;) {
        const g = await f.optimistic.getGame(id, f.challenger.address);
        const s = {
          phase: Number(g.phase),
          operatorToMove: g.operatorToMove,
          level: Number(g.level),
          tensor: Number(g.tensor),
          position: Number(g.position),
        };
        if (s.phase === Phase.OneStep) break;
        const children = operatorReveal(cheat, s);
        await f.optimistic.connect(f.operator).reveal(id, f.challenger.address, children);
        await f.optimistic.connect(f.challenger).pick(id, children, Math.max(0, challengerPick(correct, s, children)));
      }
      const g = await f.optimistic.getGame(id, f.challenger.address);
      // The inputs of the disputed element are agreed: the cheater's own commitment proves them.
      const proof = buildOneStepProof(graph, tree, cheat, Number(g.tensor), Number(g.position), input);
      return { id, graph, tree, proof, tensor: Number(g.tensor), element: Number(g.position) };
    }

    it("a dense element under the bound is recomputed in well under a block; the bound is what the executor charges", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const n = 2_400;
      const d = await disputeDense(f, n);
      expect(d.tensor).to.equal(1);
      const cost = oneStepCost(d.graph, d.tree.commitment.depth);
      expect(cost.executable).to.equal(true);
      const tx = await f.optimistic.connect(f.challenger).oneStep(d.id, f.challenger.address, d.proof);
      const used = (await tx.wait())!.gasUsed;
      console.log(`      one-step of a ${n}-input dense element: ${used} gas (bound ${cost.worst.gas} + module)`);
      expect(used).to.be.lessThan(15_000_000n);
      // The cost model is an upper bound of what the executor spends (the module adds its own bookkeeping).
      expect(Number(used)).to.be.lessThan(cost.worst.gas + 300_000);
      const game = await f.optimistic.getGame(d.id, f.challenger.address);
      expect(game.outcome).to.equal(BigInt(Outcome.ChallengerWon));
      expect(game.reason).to.equal(1n); // OneStep
    });

    it("a model with an element beyond the bound is refused by the operator and, if served, lost by its operator", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const n = 2_600;
      const d = await disputeDense(f, n);
      const cost = oneStepCost(d.graph, d.tree.commitment.depth);
      expect(cost.executable).to.equal(false);
      expect(() =>
        requireDisputable({
          dir: "wide",
          graph: d.graph,
          tree: d.tree,
          modelHash: d.tree.modelHash,
          tensorSizes: [],
          oneStep: cost,
        }),
      ).to.throw(/cannot be served in optimistic or sampling mode/);
      // The executor stops after the dims: the one-step stays cheap, and the element counts against the operator.
      const tx = await f.optimistic.connect(f.challenger).oneStep(d.id, f.challenger.address, d.proof);
      expect((await tx.wait())!.gasUsed).to.be.lessThan(1_000_000n);
      const game = await f.optimistic.getGame(d.id, f.challenger.address);
      expect(game.outcome).to.equal(BigInt(Outcome.ChallengerWon));
      expect(game.reason).to.equal(6n); // NotExecutable
    });
  });

  void (null as unknown as OptimisticModule);
});
