// The commitment and the one-step proofs of the ops of sequence models (gather, matmul, normalize, embed,
// the masked softmax of causal attention):
// their leaves, the read order OneStepExecutor follows, the exact per-element cost, and the commitments of
// the committed builds unchanged by them.
import { expect } from "chai";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { nodeInputIds, type IntGraph, type IntNode } from "../../verifier-gen/src/intgraph.js";
import {
  GATHER2_OPCODE,
  MASKED_SOFTMAX_OPCODE,
  ModelTree,
  OPCODES,
  PARAMS,
  leafValues,
  modelCommitment,
  opcodeOf,
} from "../../verifier-gen/src/merkle.js";
import { buildOneStepProof, commitTrace, elementCost, oneStepCost } from "../../verifier-gen/src/onestep.js";

function graphOf(inputShape: number[], nodes: IntNode[]): IntGraph {
  return {
    format: "veriml-intgraph",
    version: 1,
    name: "ops",
    bits: 8,
    input: { shape: inputShape, scale: 1, lo: -8, hi: 8 },
    nodes,
    output: { kind: "tensor", tensor: nodes.length, logits: nodes.length, scale: [1], meaning: "values" },
  };
}

/** x [1, 4] -> a gather (reverse) -> gather of (x, reversed) -> x . reversed -> normalize -> embed of x. */
const graph = graphOf(
  [1, 4],
  [
    { op: "gather", name: "reverse", shape: [1, 4], inputs: [0], index: [3, 2, 1, 0] },
    { op: "gather", name: "pick", shape: [1, 3], inputs: [0, 1], index: [5, -1, 1] },
    { op: "matmul", name: "dot", shape: [1, 2, 2], inputs: [0, 1], batch: 1, m: 2, k: 2, n: 2 },
    {
      op: "normalize",
      name: "norm",
      shape: [1, 2, 2],
      input: 3,
      n: 2,
      center: true,
      eps: 3,
      R: 18,
      mult: 5,
      shift: 13,
      lo: -50,
      hi: 50,
    },
    { op: "embed", name: "embed", shape: [1, 4, 2], input: 0, lo: -1, hi: 1, width: 2, table: [7, 8, 9, 10, 11, 12] },
  ],
);
const paramsOf = (node: number) => {
  const out = new Map<number, bigint[]>();
  for (const l of leafValues(graph).filter((l) => l.node === node)) {
    out.set(l.param, [...(out.get(l.param) ?? []), l.value]);
  }
  return out;
};

describe("verifier-gen: commitment of gather, matmul, normalize, embed", () => {
  it("keeps the opcodes of the existing ops and gives each new op (a gather per input count) its own", () => {
    expect(OPCODES).to.include({ dense: 1, conv2d: 2, add: 9, argmax: 12, lut: 13, softmax: 14 });
    expect(graph.nodes.map(opcodeOf)).to.deep.equal([15, GATHER2_OPCODE, 17, 18, 19]);
    expect(GATHER2_OPCODE).to.equal(16);
    const three = { ...graph.nodes[1]!, inputs: [0, 1, 2] } as IntNode;
    expect(() => opcodeOf(three)).to.throw(/3 inputs, not 1 or 2/);
  });

  it("commits the inputs, indices, dims, normalisation constants and embedding table of each node", () => {
    graph.nodes.forEach((n, i) => {
      const p = paramsOf(i);
      expect(p.get(PARAMS.OPCODE)).to.deep.equal([BigInt(opcodeOf(n))]);
      expect(p.get(PARAMS.INPUTS)).to.deep.equal(nodeInputIds(n).map(BigInt));
    });
    expect(paramsOf(1).get(PARAMS.INDEX)).to.deep.equal([5n, -1n, 1n]);
    expect(paramsOf(2).get(PARAMS.MATMUL)).to.deep.equal([1n, 2n, 2n, 2n]);
    const norm = paramsOf(3);
    expect(norm.get(PARAMS.NORMALIZE)).to.deep.equal([2n, 1n, 3n, 18n]);
    expect([norm.get(PARAMS.MULT), norm.get(PARAMS.SHIFT), norm.get(PARAMS.RANGE)]).to.deep.equal([
      [5n],
      [13n],
      [-50n, 50n],
    ]);
    const embed = paramsOf(4);
    expect([embed.get(PARAMS.EMBED), embed.get(PARAMS.RANGE)]).to.deep.equal([[2n], [-1n, 1n]]);
    expect(embed.get(PARAMS.TABLE)).to.deep.equal([7n, 8n, 9n, 10n, 11n, 12n]);
    // A normalize without centering commits center 0.
    const plain = graphOf(
      [1, 4],
      [{ ...(graph.nodes[3] as IntNode & { op: "normalize" }), input: 0, shape: [1, 4], center: false }],
    );
    expect(leafValues(plain).find((l) => l.param === PARAMS.NORMALIZE && l.index === 1)!.value).to.equal(0n);
  });

  it("refuses to commit a gather without an index per output or an embedding without a row per id", () => {
    const short = graphOf([1, 4], [{ op: "gather", name: "g", shape: [1, 4], inputs: [0], index: [0, 1, 2] }]);
    expect(() => leafValues(short)).to.throw(/3 indices for 4 outputs/);
    const table = graphOf(
      [1, 4],
      [{ op: "embed", name: "e", shape: [1, 4, 2], input: 0, lo: -1, hi: 1, width: 2, table: [1, 2, 3, 4] }],
    );
    expect(() => leafValues(table)).to.throw(/4 table entries, not 3 rows of 2/);
  });

  it("leaves the commitments of the committed builds unchanged", () => {
    let checked = 0;
    for (const dir of readdirSync("models/build")) {
      const path = join("models/build", dir);
      if (!existsSync(join(path, "intgraph.json")) || !existsSync(join(path, "manifest.json"))) continue;
      const g = JSON.parse(readFileSync(join(path, "intgraph.json"), "utf8")) as IntGraph;
      const m = JSON.parse(readFileSync(join(path, "manifest.json"), "utf8")) as { modelHash?: string };
      if (m.modelHash === undefined) continue;
      expect(modelCommitment(g).modelHash, dir).to.equal(m.modelHash);
      checked++;
    }
    expect(checked).to.be.greaterThan(0);
  });
});

describe("verifier-gen: one-step proofs of gather, matmul, normalize, embed", () => {
  const tree = new ModelTree(graph);
  const q = [3, -8, 0, 5];
  const c = commitTrace(graph, q);
  const input = Uint8Array.from(q.map((v) => v & 0xff));
  const proofOf = (tensor: number, element: number) => buildOneStepProof(graph, tree, c, tensor, element, input);
  const reads = (tensor: number, element: number) => {
    const p = proofOf(tensor, element);
    return {
      params: p.params.map((r) => [r.param, r.index, r.values.length]),
      inputs: p.inputs.length,
      elements: p.elements.map((r) => [r.slot, r.start, r.values.length]),
    };
  };
  const { OPCODE: O, INPUTS: I } = PARAMS;

  it("reads in the executor's order: opcode, inputs (as many as the opcode gives), constants, then values", () => {
    // pick[0] = concat(x, reversed)[5] = reversed[1]; pick[1] = 0 reads nothing; pick[2] = x[1].
    expect(reads(2, 0)).to.deep.equal({
      params: [
        [O, 0, 1],
        [I, 0, 2],
        [PARAMS.INDEX, 0, 1],
      ],
      inputs: 2,
      elements: [[1, 1, 1]],
    });
    expect(reads(2, 1).elements).to.deep.equal([]);
    expect(reads(2, 2).elements).to.deep.equal([[0, 1, 1]]);
    // dot[1, 0] = row 1 of x . row 0 of reversed.
    expect(reads(3, 2)).to.deep.equal({
      params: [
        [O, 0, 1],
        [I, 0, 2],
        [PARAMS.MATMUL, 0, 4],
      ],
      inputs: 2,
      elements: [
        [0, 2, 2],
        [1, 0, 2],
      ],
    });
    expect(reads(4, 3)).to.deep.equal({
      params: [
        [O, 0, 1],
        [I, 0, 1],
        [PARAMS.NORMALIZE, 0, 4],
        [PARAMS.MULT, 0, 1],
        [PARAMS.SHIFT, 0, 1],
        [PARAMS.RANGE, 0, 2],
      ],
      inputs: 1,
      elements: [[0, 2, 2]],
    });
    // embed[5] = table[(clamp(x[2] = 0) + 1) * 2 + 1].
    expect(reads(5, 5)).to.deep.equal({
      params: [
        [O, 0, 1],
        [I, 0, 1],
        [PARAMS.RANGE, 0, 2],
        [PARAMS.EMBED, 0, 1],
        [PARAMS.TABLE, 3, 1],
      ],
      inputs: 1,
      elements: [[0, 2, 1]],
    });
    expect(c.tensors[5]![5]).to.equal(10);
  });

  it("prices every gather element by what it reads, and oneStepCost takes the costliest", () => {
    // A small first input and a large second one: their elements cost different range proofs.
    const big = graphOf(
      [1, 2],
      [
        {
          op: "gather",
          name: "spread",
          shape: [1, 64],
          inputs: [0],
          index: Array.from({ length: 64 }, (_, i) => i % 2),
        },
        { op: "gather", name: "mix", shape: [1, 3], inputs: [0, 1], index: [-1, 0, 40] },
      ],
    );
    const t = new ModelTree(big);
    const d = t.commitment.depth;
    const gas = [0, 1, 2].map((e) => elementCost(big, 2, e, d).gas);
    expect(gas[0]).to.be.lessThan(gas[1]!);
    expect(gas[1]).to.be.lessThan(gas[2]!);
    const report = oneStepCost(big, d);
    expect(report.perTensor[2]).to.equal(gas[2]);
    expect(report.executable).to.equal(true);
    // An index past both inputs is not executable (only that element).
    const bad = graphOf(big.input.shape, [
      big.nodes[0]!,
      { ...(big.nodes[1] as IntNode & { op: "gather" }), index: [-1, 0, 66] },
    ]);
    const tb = new ModelTree(bad);
    expect(elementCost(bad, 2, 1, tb.commitment.depth).executable).to.equal(true);
    expect(elementCost(bad, 2, 2, tb.commitment.depth).executable).to.equal(false);
    expect(oneStepCost(bad, tb.commitment.depth).executable).to.equal(false);
  });

  it("stops after the constants of a malformed node", () => {
    const norm = graph.nodes[3] as IntNode & { op: "normalize" };
    for (const patch of [{ eps: 0 }, { R: 65 }, { shift: -1 }, { n: 3 }, { lo: 60 }]) {
      const bad = { ...graph, nodes: graph.nodes.map((n, i) => (i === 3 ? { ...norm, ...patch } : n)) };
      const t = new ModelTree(bad);
      expect(elementCost(bad, 4, 0, t.commitment.depth).executable, JSON.stringify(patch)).to.equal(false);
      const p = buildOneStepProof(bad, t, c, 4, 0, input);
      expect(p.params.map((r) => r.param)).to.deep.equal([
        O,
        I,
        PARAMS.NORMALIZE,
        PARAMS.MULT,
        PARAMS.SHIFT,
        PARAMS.RANGE,
      ]);
      expect(p.elements).to.deep.equal([]);
    }
    const dot = graph.nodes[2] as IntNode & { op: "matmul" };
    const bad = { ...graph, nodes: graph.nodes.map((n, i) => (i === 2 ? { ...dot, batch: 2, m: 1 } : n)) };
    const t = new ModelTree(bad);
    expect(elementCost(bad, 3, 0, t.commitment.depth).executable).to.equal(false);
    expect(buildOneStepProof(bad, t, c, 3, 0, input).elements).to.deep.equal([]);
  });
});

describe("verifier-gen: commitment and one-step proofs of the masked softmax", () => {
  const exp = Array.from({ length: 17 }, (_, d) => Math.round(2 ** 16 * Math.exp(-d * 0.25)));
  const causal = Array.from({ length: 8 }, (_, e) => (e % 2 <= Math.floor(e / 2) % 2 ? 1 : 0));
  const softmaxOf = (mask?: number[]): IntGraph =>
    graphOf(
      [1, 2, 2, 2],
      [{ op: "softmax", name: "attn", shape: [1, 2, 2, 2], input: 0, n: 2, lo: -8, hi: 8, exp, out: 100, mask }],
    );
  const plain = softmaxOf();
  const masked = softmaxOf(causal);
  const nodeLeaves = (g: IntGraph) =>
    leafValues(g)
      .filter((l) => l.node === 0)
      .map((l) => [l.param, l.index, l.value]);

  it("keeps an unmasked softmax's opcode 14 and leaves; a masked one is opcode 20 with the whole mask besides", () => {
    expect(PARAMS.MASK).to.equal(20);
    expect(MASKED_SOFTMAX_OPCODE).to.equal(20);
    expect([opcodeOf(plain.nodes[0]!), opcodeOf(masked.nodes[0]!)]).to.deep.equal([14, MASKED_SOFTMAX_OPCODE]);
    const rest = [
      [PARAMS.INPUTS, 0, 0n],
      ...[1, 2, 2, 2].map((v, i) => [PARAMS.SHAPE, i, BigInt(v)]),
      [PARAMS.RANGE, 0, -8n],
      [PARAMS.RANGE, 1, 8n],
      ...exp.map((v, i) => [PARAMS.TABLE, i, BigInt(v)]),
      [PARAMS.SOFTMAX, 0, 2n],
      [PARAMS.SOFTMAX, 1, 100n],
    ];
    expect(nodeLeaves(plain)).to.deep.equal([[PARAMS.OPCODE, 0, 14n], ...rest]);
    expect(nodeLeaves(masked)).to.deep.equal([
      [PARAMS.OPCODE, 0, 20n],
      ...rest,
      ...causal.map((v, i) => [PARAMS.MASK, i, BigInt(v)]),
    ]);
    // The header and every other leaf are the same: only the node's opcode and its mask differ.
    expect(leafValues(masked).length - leafValues(plain).length).to.equal(8);
    expect(modelCommitment(masked).modelHash).to.not.equal(modelCommitment(plain).modelHash);
  });

  it("refuses to commit a mask that is not one entry per element", () => {
    expect(() => leafValues(softmaxOf(causal.slice(0, 6)))).to.throw(/6 mask entries for 8 elements/);
    expect(() => leafValues(softmaxOf([...causal, 1]))).to.throw(/9 mask entries for 8 elements/);
  });

  it("reads in the executor's order: opcode, input, [n, out], range, table, the row's mask run, then the row", () => {
    const q = [3, -8, 0, 5, 8, 8, -1, 2];
    for (const [g, opcode] of [
      [plain, 14],
      [masked, 20],
    ] as const) {
      const tree = new ModelTree(g);
      const c = commitTrace(g, q);
      const input = Uint8Array.from(q.map((v) => v & 0xff));
      for (let e = 0; e < 8; e++) {
        const p = buildOneStepProof(g, tree, c, 1, e, input);
        const r0 = e - (e % 2);
        expect(p.params.map((r) => [r.param, r.index, r.values.length])).to.deep.equal([
          [PARAMS.OPCODE, 0, 1],
          [PARAMS.INPUTS, 0, 1],
          [PARAMS.SOFTMAX, 0, 2],
          [PARAMS.RANGE, 0, 2],
          [PARAMS.TABLE, 0, exp.length],
          ...(opcode === 20 ? [[PARAMS.MASK, r0, 2]] : []),
        ]);
        expect(p.params[0]!.values).to.deep.equal([BigInt(opcode)]);
        if (opcode === 20) expect(p.params[5]!.values).to.deep.equal(causal.slice(r0, r0 + 2).map(BigInt));
        expect(p.inputs).to.have.length(1);
        expect(p.elements.map((r) => [r.slot, r.start, r.values.length])).to.deep.equal([[0, r0, 2]]);
      }
      // The mask costs one more run of n model leaves, for every element alike.
      const d = tree.commitment.depth;
      const report = oneStepCost(g, d);
      expect(report.executable).to.equal(true);
      expect(report.perTensor[1]).to.equal(elementCost(g, 1, 3, d).gas);
    }
    const dp = new ModelTree(plain).commitment.depth;
    const dm = new ModelTree(masked).commitment.depth;
    const base = (depth: number) => elementCost(plain, 1, 0, depth).gas;
    expect(elementCost(masked, 1, 0, dm).gas - base(dm)).to.equal(6_000 + 2 * 2_000 + 2 * dm * 1_100);
    expect(elementCost(plain, 1, 0, dp).gas).to.equal(base(dp));
    // The masked elements of the trace are 0, a row keeping one element has all of the probability.
    const c = commitTrace(masked, q);
    expect(Array.from(c.tensors[1]!)).to.satisfy((y: number[]) => y.every((v, e) => causal[e] === 1 || v === 0));
    expect(c.tensors[1]![0]).to.equal(100);
  });

  it("finds a row with a mask entry not 0/1, or masked entirely, not executable, after the same reads", () => {
    const q = [3, -8, 0, 5, 8, 8, -1, 2];
    const c = commitTrace(masked, q);
    const input = Uint8Array.from(q.map((v) => v & 0xff));
    for (const [row, mask] of [
      [1, causal.map((v, e) => (e === 3 ? 2 : v))],
      [2, causal.map((v, e) => (e === 4 || e === 5 ? 0 : v))],
      [3, causal.map((v, e) => (e === 7 ? -1 : v))],
    ] as const) {
      const bad = softmaxOf([...mask]);
      const t = new ModelTree(bad);
      const d = t.commitment.depth;
      expect(oneStepCost(bad, d).executable, `row ${row}`).to.equal(false);
      for (let e = 0; e < 8; e++) {
        const cost = elementCost(bad, 1, e, d);
        expect(cost.executable, `row ${row} [${e}]`).to.equal(Math.floor(e / 2) !== row);
        expect(cost.gas).to.equal(elementCost(masked, 1, e, new ModelTree(masked).commitment.depth).gas);
        const p = buildOneStepProof(bad, t, c, 1, e, input);
        expect(p.params.map((r) => r.param).at(-1)).to.equal(PARAMS.MASK);
        expect(p.elements).to.have.length(1);
      }
    }
    // Malformed constants stop after them (n that does not tile the rows); an input of another size reads none.
    const tiles = graphOf([1, 2, 2, 2], [{ ...(masked.nodes[0] as IntNode & { op: "softmax" }), n: 3, mask: causal }]);
    const tt = new ModelTree(tiles);
    expect(elementCost(tiles, 1, 0, tt.commitment.depth).executable).to.equal(false);
    const stopped = buildOneStepProof(tiles, tt, c, 1, 0, input);
    expect(stopped.params.map((r) => r.param)).to.deep.equal([
      PARAMS.OPCODE,
      PARAMS.INPUTS,
      PARAMS.SOFTMAX,
      PARAMS.RANGE,
    ]);
    expect(stopped.elements).to.deep.equal([]);
  });
});
