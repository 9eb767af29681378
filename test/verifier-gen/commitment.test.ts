// The commitments (verifier-gen/src/merkle.ts, format 3): encodings, domain separation, exact-length range
// proofs, and the same results on chain (TraceMerkle through a harness contract).
import { expect } from "chai";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { network } from "hardhat";
import { keccak256, solidityPacked } from "ethers";
import type { IntGraph } from "../../verifier-gen/src/intgraph.js";
import {
  ModelTree,
  TAG,
  ZERO_HASH,
  elementLeaf,
  encodeLeaf,
  hashLeaf,
  hashNode,
  leafValues,
  merkleLevels,
  modelCommitment,
  modelRoot,
  rangeProof,
  rootOf,
  runRoot,
  tensorLeaf,
  tensorsHash,
} from "../../verifier-gen/src/merkle.js";
import { commitTensors } from "../../verifier-gen/src/onestep.js";
import { pack, packLayout, unpack } from "../../verifier-gen/src/packing.js";
import {
  decodeInputBytes,
  decodeInputRaw,
  decodeOutput,
  encodeInputBytes,
  encodeOutput,
} from "../../verifier-gen/src/encoding.js";

const graph = JSON.parse(readFileSync("models/build/digits-mlp/intgraph.json", "utf8")) as IntGraph;
const manifest = JSON.parse(readFileSync("models/build/digits-mlp/manifest.json", "utf8")) as { modelHash: string };
const { ethers } = await network.create();

describe("verifier-gen: model commitment (format 3)", () => {
  it("matches the committed manifest and binds leaf count, tree root and tensor sizes", () => {
    const c = modelCommitment(graph);
    expect(c.modelHash).to.equal(manifest.modelHash);
    expect(modelRoot(c.leafCount, c.paramRoot, c.tensorSizes)).to.equal(c.modelHash);
    expect(modelRoot(c.leafCount + 1, c.paramRoot, c.tensorSizes)).to.not.equal(c.modelHash);
    expect(modelRoot(c.leafCount, c.paramRoot, [...c.tensorSizes.slice(0, -1), 2])).to.not.equal(c.modelHash);
  });

  it("binds what the output means: the same tensor as logits, probabilities or values is three models", () => {
    const iris = JSON.parse(readFileSync("models/build/iris_mlp/intgraph.json", "utf8")) as IntGraph;
    expect(iris.output.meaning).to.equal("logits");
    const kinds = ["logits", "probabilities", "values", "embedding"] as const;
    const hashes = kinds.map((meaning) => modelCommitment({ ...iris, output: { ...iris.output, meaning } }).modelHash);
    expect(new Set(hashes).size).to.equal(kinds.length);
    const header = leafValues(iris).filter((l) => l.node === 0xffffffff && l.param === 9);
    expect(header.map((l) => l.value)).to.deep.equal([1n]); // index of "logits"
    // A label belongs to an ArgMax graph only, and a tensor never says it is a label.
    expect(() => modelCommitment({ ...iris, output: { ...iris.output, meaning: "label" } })).to.throw(
      /output kind label does not fit a graph whose output is tensor/,
    );
    expect(() => modelCommitment({ ...graph, output: { ...graph.output, meaning: "logits" } })).to.throw(
      /output kind logits does not fit a graph whose output is argmax/,
    );
  });

  it("leaf encoding is 0x04 ++ abi.encodePacked(uint32 node, uint32 param, uint32 index, int256 value)", () => {
    for (const l of leafValues(graph).slice(0, 50).concat({ node: 0, param: 3, index: 7, value: -5n })) {
      const packed = solidityPacked(
        ["bytes1", "uint32", "uint32", "uint32", "int256"],
        ["0x04", l.node, l.param, l.index, l.value],
      );
      expect("0x" + Buffer.from(encodeLeaf(l)).toString("hex")).to.equal(packed);
      expect(hashLeaf(l)).to.equal(keccak256(packed));
    }
  });

  it("every kind of hash has its own tag: element, tensor node, tensor leaf, trace node, model leaf and node", () => {
    const a = keccak256("0x01");
    const b = keccak256("0x02");
    expect(elementLeaf(5)).to.equal(keccak256(solidityPacked(["bytes1", "int256"], ["0x00", 5])));
    const nodes = [TAG.TENSOR_NODE, TAG.TRACE_NODE, TAG.MODEL_NODE].map((t) => hashNode(t, a, b));
    expect(new Set(nodes).size).to.equal(3);
    expect(tensorLeaf(0, 1, a)).to.equal(
      keccak256(solidityPacked(["bytes1", "uint32", "uint32", "bytes32"], ["0x02", 0, 1, a])),
    );
    // A tensor leaf binds its index and its size: the same element root cannot pose as another tensor.
    expect(tensorLeaf(0, 4, a)).to.not.equal(tensorLeaf(1, 4, a));
    expect(tensorLeaf(0, 4, a)).to.not.equal(tensorLeaf(0, 3, a));
  });

  it("every run of leaves has a range proof against the root; a changed value or position fails", () => {
    const tree = new ModelTree(graph);
    const { depth, paramRoot } = tree.commitment;
    const leaves = leafValues(graph).map(hashLeaf);
    const levels = merkleLevels(leaves, TAG.MODEL_NODE);
    fc.assert(
      fc.property(fc.nat({ max: leaves.length - 1 }), fc.nat({ max: 80 }), (start, extra) => {
        const count = Math.min(1 + extra, leaves.length - start);
        const siblings = rangeProof(levels, start, count);
        const run = leaves.slice(start, start + count);
        expect(runRoot(run, start, depth, siblings, TAG.MODEL_NODE)).to.equal(paramRoot);
        if (start > 0) expect(runRoot(run, start - 1, depth, siblings, TAG.MODEL_NODE)).to.not.equal(paramRoot);
        const changed = [...run];
        changed[0] = keccak256(changed[0]!);
        expect(runRoot(changed, start, depth, siblings, TAG.MODEL_NODE)).to.not.equal(paramRoot);
      }),
      { numRuns: 60 },
    );
  });

  it("a path of the wrong length, or into another tensor, never verifies", () => {
    // The attack of issue 10 #1: the output "label" proven by a path that ends inside tensor 0.
    const tensors = [Float64Array.from([3, 1, 4, 1, 5, 9, 2, 6]), Float64Array.from([7, 7]), Float64Array.of(5)];
    const c = commitTensors(tensors);
    const traceDepth = c.traceLevels.length - 1;
    const inner = c.tensorLevels[0]!;
    // element 5 of tensor 0 holds 9; a path through tensor 0 and then the trace tree is over-long.
    const overLong = [...rangeProof(inner, 5, 1), ...rangeProof(c.traceLevels, 0, 1)];
    expect(runRoot([elementLeaf(9)], 5, traceDepth, overLong, TAG.TRACE_NODE)).to.equal(null);
    expect(runRoot([elementLeaf(9)], 5, traceDepth + 3, overLong, TAG.TRACE_NODE)).to.not.equal(c.traceRoot);
    // Over-short: an inner node of tensor 0 posing as a tensor leaf at the trace level.
    const innerNode = inner[1]![0]!;
    expect(runRoot([innerNode], 0, traceDepth, rangeProof(c.traceLevels, 0, 1), TAG.TRACE_NODE)).to.not.equal(
      c.traceRoot,
    );
    // Cross-tensor: tensor 1's element root cannot stand at tensor 2's position.
    const root1 = rootOf(c.tensorLevels[1]!);
    const at2 = tensorLeaf(2, 2, root1);
    expect(runRoot([at2], 2, traceDepth, rangeProof(c.traceLevels, 2, 1), TAG.TRACE_NODE)).to.not.equal(c.traceRoot);
    // The honest leaf verifies.
    const honest = tensorLeaf(2, 1, elementLeaf(5));
    expect(runRoot([honest], 2, traceDepth, rangeProof(c.traceLevels, 2, 1), TAG.TRACE_NODE)).to.equal(c.traceRoot);
  });

  it("TraceMerkle on chain agrees with verifier-gen on every hash and run, and rejects bad lengths", async () => {
    const h = await ethers.deployContract("TraceMerkleHarness");
    const c = modelCommitment(graph);
    expect(await h.modelHash(c.leafCount, c.paramRoot, c.tensorSizes)).to.equal(c.modelHash);
    expect(await h.elementLeaf(-3)).to.equal(elementLeaf(-3));
    expect(await h.tensorLeaf(4, 9, ZERO_HASH.replace(/0$/, "1"))).to.equal(
      tensorLeaf(4, 9, ZERO_HASH.replace(/0$/, "1")),
    );
    const values = [5n, -2n, 7n, 0n, 11n, 3n];
    const levels = merkleLevels(
      values.map((v) => elementLeaf(v)),
      TAG.TENSOR_NODE,
    );
    expect(await h.elementRoot(values)).to.equal(rootOf(levels));
    for (const [start, count] of [
      [0, 6],
      [1, 3],
      [5, 1],
      [2, 2],
    ] as const) {
      const siblings = rangeProof(levels, start, count);
      const run = values.slice(start, start + count).map((v) => elementLeaf(v));
      expect(await h.runRoot(run, start, 3, siblings, "0x01")).to.equal(rootOf(levels));
      // One sibling more or less: no root at all (bytes32(0)), never a wrong one.
      expect(await h.runRoot(run, start, 3, [...siblings, ZERO_HASH], "0x01")).to.equal(ZERO_HASH);
      if (siblings.length > 0) expect(await h.runRoot(run, start, 3, siblings.slice(1), "0x01")).to.equal(ZERO_HASH);
      expect(await h.runRoot(run, start, 4, siblings, "0x01")).to.not.equal(rootOf(levels));
    }
    expect(await h.runRoot([elementLeaf(1)], 8, 3, [], "0x01")).to.equal(ZERO_HASH);
    expect(tensorsHash([1, 2])).to.equal(keccak256(solidityPacked(["uint256", "uint256"], [1, 2])));
  });
});

describe("verifier-gen: input and output encodings", () => {
  const signed: IntGraph = { ...graph, input: { ...graph.input, lo: -127, hi: 127 } };
  const wide: IntGraph = { ...graph, input: { ...graph.input, lo: -1000, hi: 1000 } };

  it("inputs: one byte per value, two's complement when signed, wider when the range needs it", () => {
    const q = Array.from({ length: 64 }, (_, i) => (i % 2 === 0 ? -i : i));
    expect(encodeInputBytes(signed, q).length).to.equal(64);
    expect(decodeInputBytes(signed, encodeInputBytes(signed, q))).to.deep.equal(q);
    const w = q.map((v) => v * 15);
    expect(encodeInputBytes(wide, w).length).to.equal(128);
    expect(decodeInputBytes(wide, encodeInputBytes(wide, w))).to.deep.equal(w);
  });

  it("tensor 0 is clamp(decode(bytes), lo, hi): -128 of a [-127, 127] model reads as -127; out of range is refused when encoding", () => {
    const bytes = new Uint8Array(64).fill(0x80);
    expect(decodeInputRaw(signed, bytes)[0]).to.equal(-128);
    expect(decodeInputBytes(signed, bytes)[0]).to.equal(-127);
    expect(() => encodeInputBytes(signed, new Array(64).fill(128))).to.throw(/outside/);
    expect(() => decodeInputBytes(signed, new Uint8Array(63))).to.throw(/bytes/);
  });

  it("outputs: abi.encode(int256[]) only in its canonical form", () => {
    const out = encodeOutput([3n, -4n]);
    expect(decodeOutput(out)).to.deep.equal([3n, -4n]);
    expect(() => decodeOutput(out + "00")).to.throw();
  });
});

describe("verifier-gen: public signal packing", () => {
  it("round-trips, stays below 2^248, and fills elements greedily", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            lo: fc.integer({ min: -200, max: 200 }),
            span: fc.integer({ min: 0, max: 70000 }),
            count: fc.integer({ min: 1, max: 80 }),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        fc.infiniteStream(fc.double({ min: 0, max: 1, noNaN: true })),
        (segs, rnd) => {
          const kinds = ["input", "label", "output"] as const;
          const lay = packLayout(
            segs.map((s, i) => ({ kind: kinds[i]!, count: s.count, lo: s.lo, hi: s.lo + s.span })),
          );
          const it = rnd[Symbol.iterator]();
          const vals = segs.map((s) =>
            Array.from({ length: s.count }, () => s.lo + Math.min(s.span, Math.floor(it.next().value * (s.span + 1)))),
          );
          const els = pack(lay, vals);
          expect(els.length).to.equal(lay.elements);
          for (const e of els) expect(e < 1n << 248n).to.equal(true);
          expect(unpack(lay, els)).to.deep.equal(vals);
          // greedy: an element plus the first value of the next would exceed 248 bits
          const bits = lay.segments.flatMap((s) => new Array<number>(s.count).fill(s.valueBits));
          let k = 0;
          lay.valuesPerElement.forEach((n, e) => {
            const used = bits.slice(k, k + n).reduce((a, b) => a + b, 0);
            expect(used).to.be.at.most(248);
            if (e + 1 < lay.elements) expect(used + bits[k + n]!).to.be.greaterThan(248);
            k += n;
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it("digits layout: 49 + 15 five-bit pixels, then the 4-bit label in the lowest bits", () => {
    const lay = packLayout([
      { kind: "input", count: 64, lo: 0, hi: 16 },
      { kind: "label", count: 1, lo: 0, hi: 9 },
    ]);
    expect(lay.elements).to.equal(2);
    expect(lay.valuesPerElement).to.deep.equal([49, 16]);
    const px = Array.from({ length: 64 }, (_, i) => i % 17);
    const [e0, e1] = pack(lay, [px, [7]]);
    expect(e0! >> BigInt(5 * 48)).to.equal(BigInt(px[0]!));
    expect(e1! & 15n).to.equal(7n);
    expect((e1! >> 4n) & 31n).to.equal(BigInt(px[63]!));
    expect(e1! >> BigInt(4 + 5 * 14)).to.equal(BigInt(px[49]!));
    // exact ranges: 17 fits the 5 bits but not [0, 16]
    expect(() => pack(lay, [px.map((v, i) => (i === 3 ? 17 : v)), [7]])).to.throw(RangeError);
  });
});
