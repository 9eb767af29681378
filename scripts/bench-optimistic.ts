// Bench of optimistic mode on the local (in-process) chain: a full dispute against a cheating operator
// on the digits MLP and CNN (wrong first layer, caught by the one-step of that layer) and a lazy cheater
// (label only, caught by the argmax one-step): moves, total gas of the game, wall time, one-step gas.
// Run: npx hardhat run scripts/bench-optimistic.ts (writes bench/results/optimistic.json)
import { inlineEthRequest } from "./lib/requests.js";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { network } from "hardhat";
import { parseEther } from "ethers";
import { DEFAULT_PARAMETERS, deploySuite } from "./lib/deploy.js";
import { MODE_OPTIMISTIC, deployOptimisticModule, registerOptimisticModel } from "./lib/optimistic.js";
import { loadOptimisticModel, type OptimisticModel } from "../operator/src/optimistic/model.js";
import {
  commitTensors,
  commitTrace,
  encodeSubmissionProof,
  outputOf,
  type TraceCommitment,
} from "../operator/src/optimistic/trace.js";
import {
  Phase,
  challengerOneStep,
  challengerPick,
  operatorReveal,
  type Reveal,
} from "../operator/src/optimistic/game.js";
import type { IntGraph } from "../verifier-gen/src/intgraph.js";

const { ethers } = await network.create();
const PRICE = parseEther("0.01");
const testSet = JSON.parse(readFileSync("data/digits-test.json", "utf8")) as { inputs: number[][] };
const [deployer, treasury, user, operator, challenger] = await ethers.getSigners();
const suite = await deploySuite(deployer!, { ...DEFAULT_PARAMETERS, treasury: treasury!.address });
const optimistic = await deployOptimisticModule(suite, deployer!);
for (const s of [operator!, challenger!])
  await suite.vault.connect(s).stake(parseEther("50"), { value: parseEther("50") });

function tamperBias(graph: IntGraph, delta: number): IntGraph {
  const g = structuredClone(graph);
  const n = g.nodes[0]!;
  if (n.op !== "dense" && n.op !== "conv2d") throw new Error("first node must be dense or conv");
  n.bias[0] = n.bias[0]! + delta;
  return g;
}

async function dispute(
  name: string,
  model: OptimisticModel,
  cheatOf: (input: Uint8Array, correct: TraceCommitment) => TraceCommitment,
) {
  const { modelId } = await registerOptimisticModel(suite.registry, deployer!, {
    buildDir: model.dir,
    artifactURI: `file://${model.dir}`,
    ethPrice: PRICE,
    operatorStake: parseEther("1"),
    challengeWindow: 600,
    clock: 600,
    challengerBond: parseEther("0.5"),
  });
  await suite.vault.connect(operator!).setService(modelId, 0, true);
  const input = Uint8Array.from(testSet.inputs[0]!);
  const correct = commitTrace(model.graph, input);
  const cheat = cheatOf(input, correct);
  const deadline = BigInt((await ethers.provider.getBlock("latest"))!.timestamp + 3600);
  await suite.market
    .connect(user!)
    .createRequest(inlineEthRequest(modelId, MODE_OPTIMISTIC, input, PRICE, deadline), { value: PRICE });
  const id = await suite.market.requestCount();
  await suite.market.connect(operator!).claim(id);
  const submit = await (
    await suite.market.connect(operator!).submitResult(id, outputOf(cheat), encodeSubmissionProof(cheat))
  ).wait();
  const started = performance.now();
  let gas = 0n;
  let moves = 0;
  let oneStepGas = 0n;
  let maxMoveGas = 0n;
  const count = async (p: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>) => {
    const g = (await (await p).wait())!.gasUsed;
    gas += g;
    moves += 1;
    return g;
  };
  await count(optimistic.connect(challenger!).challenge(id));
  const reveals: Reveal[] = [];
  let last: string[] = [];
  for (;;) {
    const g = await optimistic.getGame(id, challenger!.address);
    const s = {
      phase: Number(g.phase),
      operatorToMove: g.operatorToMove,
      level: Number(g.level),
      tensor: Number(g.tensor),
      position: Number(g.position),
    };
    if (s.phase === Phase.Resolved) break;
    if (s.phase === Phase.OneStep) {
      const proof = challengerOneStep(model.graph, model.tree, correct, reveals, s.tensor, s.position, input);
      oneStepGas = await count(optimistic.connect(challenger!).oneStep(id, challenger!.address, proof));
    } else if (s.operatorToMove) {
      last = operatorReveal(cheat, s);
      if (s.phase === Phase.Trace) reveals.push({ level: s.level, position: s.position, children: last });
      const mg = await count(optimistic.connect(operator!).reveal(id, challenger!.address, last));
      maxMoveGas = mg > maxMoveGas ? mg : maxMoveGas;
    } else {
      const mg = await count(
        optimistic.connect(challenger!).pick(id, last, Math.max(0, challengerPick(correct, s, last))),
      );
      maxMoveGas = mg > maxMoveGas ? mg : maxMoveGas;
    }
  }
  const finalize = await (await suite.market.finalize(id)).wait();
  const end = await optimistic.getGame(id, challenger!.address);
  return {
    dispute: name,
    tensors: model.tensorSizes.length,
    disputedTensor: Number(end.tensor),
    elements: model.tensorSizes[Number(end.tensor)]!,
    outcome: Number(end.outcome) === 2 ? "challenger won" : "operator won",
    moves,
    "gas (game)": gas.toString(),
    "max bisection move gas": maxMoveGas.toString(),
    "one-step gas": oneStepGas.toString(),
    "submit gas": submit!.gasUsed.toString(),
    "finalize gas": finalize!.gasUsed.toString(),
    "wall ms": Math.round(performance.now() - started),
  };
}

const lazy = (input: Uint8Array, correct: TraceCommitment): TraceCommitment => {
  const tensors = correct.tensors.map((t) => Float64Array.from(t));
  const last = tensors[tensors.length - 1]!;
  tensors[tensors.length - 1] = Float64Array.of((last[0]! + 1) % 10);
  return commitTensors(tensors);
};
const mlp = loadOptimisticModel("models/build/digits-mlp");
const cnn = loadOptimisticModel("models/build/digits-cnn");
const rows = [
  await dispute("MLP, wrong fc1 (dense 64->32)", mlp, (x) => commitTrace(tamperBias(mlp.graph, 10_000), x)),
  await dispute("MLP, wrong label only (argmax)", mlp, lazy),
  await dispute("CNN, wrong conv1 (3x3, 6x6x6)", cnn, (x) => commitTrace(tamperBias(cnn.graph, 10_000), x)),
  await dispute("CNN, wrong label only (argmax)", cnn, lazy),
];
console.table(rows);
mkdirSync("bench/results", { recursive: true });
writeFileSync("bench/results/optimistic.json", `${JSON.stringify(rows, null, 2)}\n`);
console.log("wrote bench/results/optimistic.json");
