// The on-chain one-step of the element-wise function tables: every element of a Tanh and a Sigmoid tensor
// recomputed by OneStepExecutor equals the interpreter's, within the gas the cost model predicts, and an
// entry proven at another position of the committed table is refused.
import { expect } from "chai";
import { network } from "hardhat";
import { keccak256 } from "ethers";
import { encodeInputBytes } from "../../../verifier-gen/src/encoding.js";
import { importOnnx } from "../../../verifier-gen/src/floatgraph.js";
import { ModelTree, PARAMS } from "../../../verifier-gen/src/merkle.js";
import { buildOneStepProof, commitTrace, elementCost } from "../../../verifier-gen/src/onestep.js";
import { quantize, quantizeInput } from "../../../verifier-gen/src/quantize.js";
import { activationMlp, tokenEmbedding, tokenMlp } from "../../helpers/onnx-models.js";

const { ethers, networkHelpers } = await network.create();

/** The executor's Step for one element of a committed trace (IOneStepExecutor.Step). */
function stepFor(tree: ModelTree, c: { traceRoot: string }, input: Uint8Array, tensor: number, element: number) {
  return {
    modelHash: tree.modelHash,
    leafCount: tree.commitment.leafCount,
    paramRoot: tree.commitment.paramRoot,
    traceRoot: c.traceRoot,
    inputHash: keccak256(input),
    tensor,
    element,
  };
}

describe("OneStepExecutor: function tables (lut)", () => {
  const fg = importOnnx(activationMlp(["Tanh", "Sigmoid"], { seed: 3 }));
  const calib = Array.from({ length: 40 }, (_, i) => Array.from({ length: 6 }, (_, k) => Math.cos(i * 3 + k) * 2));
  const graph = quantize(fg, calib);
  const tree = new ModelTree(graph);
  const q = quantizeInput(graph, calib[5]!);
  const input = encodeInputBytes(graph, q);
  const c = commitTrace(graph, q);

  async function deploy() {
    return ethers.deployContract("OneStepExecutor");
  }

  const stepOf = (tensor: number, element: number) => stepFor(tree, c, input, tensor, element);

  it("recomputes every element of every table node exactly as the interpreter", async () => {
    const exec = await networkHelpers.loadFixture(deploy);
    const lutTensors = graph.nodes.flatMap((n, i) => (n.op === "lut" ? [i + 1] : []));
    expect(lutTensors).to.have.length(2);
    for (const tensor of lutTensors) {
      for (let e = 0; e < c.tensorSizes[tensor]!; e++) {
        const proof = buildOneStepProof(graph, tree, c, tensor, e, input);
        const [executable, value] = await exec.execute(stepOf(tensor, e), c.tensorSizes, proof);
        expect(executable).to.equal(true);
        expect(value).to.equal(BigInt(c.tensors[tensor]![e]!));
        const gas = await exec.execute.estimateGas(stepOf(tensor, e), c.tensorSizes, proof);
        expect(Number(gas)).to.be.lessThan(elementCost(graph, tensor, e, tree.commitment.depth).gas + 60_000);
      }
    }
  });

  it("refuses a table entry proven at another position, and a value changed in a proven entry", async () => {
    const exec = await networkHelpers.loadFixture(deploy);
    const tensor = graph.nodes.findIndex((n) => n.op === "lut") + 1;
    const node = graph.nodes[tensor - 1]!;
    if (node.op !== "lut") throw new Error("unreachable");
    const e = 0;
    const genuine = buildOneStepProof(graph, tree, c, tensor, e, input);
    const at = genuine.params.findIndex((p) => Number(p.param) === PARAMS.TABLE);
    const index = Number(genuine.params[at]!.index);
    const other = node.table.findIndex((v, k) => k !== index && v !== node.table[index]);
    const moved = structuredClone(genuine);
    moved.params[at] = tree.run(tensor - 1, PARAMS.TABLE, other, 1);
    // The executor reads the entry at the input's own position: a run of another position is not it.
    await expect(exec.execute(stepOf(tensor, e), c.tensorSizes, moved)).to.be.revertedWithCustomError(
      exec,
      "OneStepExecutorUnexpectedParam",
    );
    const changed = structuredClone(genuine);
    changed.params[at]!.values = [BigInt(node.table[other]!)];
    await expect(exec.execute(stepOf(tensor, e), c.tensorSizes, changed)).to.be.revertedWithCustomError(
      exec,
      "OneStepExecutorBadModelProof",
    );
  });
});

describe("OneStepExecutor: softmax", () => {
  const fg = importOnnx(activationMlp(["Tanh"], { head: "Softmax", outputs: 5, seed: 4 }));
  const calib = Array.from({ length: 40 }, (_, i) => Array.from({ length: 6 }, (_, k) => Math.sin(i * 3 + k) * 2));
  const graph = quantize(fg, calib);
  const tree = new ModelTree(graph);

  async function deploy() {
    return ethers.deployContract("OneStepExecutor");
  }

  it("recomputes every probability from its whole row, as the interpreter, for several inputs", async () => {
    const exec = await networkHelpers.loadFixture(deploy);
    const tensor = graph.nodes.length;
    expect(graph.nodes[tensor - 1]!.op).to.equal("softmax");
    for (const row of [1, 9, 23]) {
      const q = quantizeInput(graph, calib[row]!);
      const input = encodeInputBytes(graph, q);
      const c = commitTrace(graph, q);
      for (let e = 0; e < c.tensorSizes[tensor]!; e++) {
        const proof = buildOneStepProof(graph, tree, c, tensor, e, input);
        const step = stepFor(tree, c, input, tensor, e);
        const [executable, value] = await exec.execute(step, c.tensorSizes, proof);
        expect(executable).to.equal(true);
        expect(value).to.equal(BigInt(c.tensors[tensor]![e]!));
        if (e === 0) {
          // A row value other than the committed one is refused: the element depends on all of them.
          const forged = structuredClone(proof);
          forged.elements[0]!.values[2] = forged.elements[0]!.values[2]! + 1n;
          await expect(exec.execute(step, c.tensorSizes, forged)).to.be.revertedWithCustomError(
            exec,
            "OneStepExecutorBadElementProof",
          );
        }
      }
    }
  });
});

describe("OneStepExecutor: a dense layer per token", () => {
  const fg = importOnnx(tokenMlp({ tokens: 3 }));
  const calib = Array.from({ length: 40 }, (_, i) => Array.from({ length: 18 }, (_, k) => Math.sin(i * 7 + k) * 2));
  const graph = quantize(fg, calib);
  const tree = new ModelTree(graph);

  it("recomputes every output of every token from that token's row only", async () => {
    const exec = await ethers.deployContract("OneStepExecutor");
    const q = quantizeInput(graph, calib[2]!);
    const input = encodeInputBytes(graph, q);
    const c = commitTrace(graph, q);
    const tensor = graph.nodes.findIndex((n) => n.op === "dense") + 1;
    for (let e = 0; e < c.tensorSizes[tensor]!; e++) {
      const proof = buildOneStepProof(graph, tree, c, tensor, e, input);
      expect(Number(proof.elements[0]!.start)).to.equal(Math.floor(e / 5) * 6);
      const step = stepFor(tree, c, input, tensor, e);
      const [executable, value] = await exec.execute(step, c.tensorSizes, proof);
      expect(executable).to.equal(true);
      expect(value).to.equal(BigInt(c.tensors[tensor]![e]!));
    }
  });
});

describe("OneStepExecutor: constants over the trailing axes", () => {
  const fg = importOnnx(tokenEmbedding());
  const calib = Array.from({ length: 40 }, (_, i) => Array.from({ length: 24 }, (_, k) => Math.cos(i * 5 + k) * 2));
  const graph = quantize(fg, calib);
  const tree = new ModelTree(graph);

  it("recomputes every element of the positional-embedding affine from its own entry", async () => {
    const exec = await ethers.deployContract("OneStepExecutor");
    const q = quantizeInput(graph, calib[4]!);
    const input = encodeInputBytes(graph, q);
    const c = commitTrace(graph, q);
    const tensor = graph.nodes.findIndex((n) => n.op === "affine") + 1;
    expect(tensor).to.be.greaterThan(0);
    for (let e = 0; e < c.tensorSizes[tensor]!; e++) {
      const proof = buildOneStepProof(graph, tree, c, tensor, e, input);
      const step = stepFor(tree, c, input, tensor, e);
      const [executable, value] = await exec.execute(step, c.tensorSizes, proof);
      expect(executable).to.equal(true);
      expect(value).to.equal(BigInt(c.tensors[tensor]![e]!));
    }
  });
});
