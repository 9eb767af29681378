import { expect } from "chai";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { keccak256, solidityPacked } from "ethers";
import type { IntGraph } from "../../verifier-gen/src/intgraph.js";
import {
  encodeLeaf,
  hashLeaf,
  leafValues,
  merkleProof,
  modelCommitment,
  verifyMerkleProof,
} from "../../verifier-gen/src/merkle.js";
import { pack, packLayout, unpack } from "../../verifier-gen/src/packing.js";

const graph = JSON.parse(readFileSync("models/build/digits-mlp/intgraph.json", "utf8")) as IntGraph;
const manifest = JSON.parse(readFileSync("models/build/digits-mlp/manifest.json", "utf8")) as { modelHash: string };

describe("verifier-gen: model commitment (Merkle modelHash)", () => {
  it("matches the committed manifest", () => {
    expect(modelCommitment(graph).modelHash).to.equal(manifest.modelHash);
  });

  it("leaf encoding is abi.encodePacked(uint32 node, uint32 param, uint32 index, int256 value)", () => {
    for (const l of leafValues(graph).slice(0, 50).concat({ node: 0, param: 3, index: 7, value: -5n })) {
      const packed = solidityPacked(["uint32", "uint32", "uint32", "int256"], [l.node, l.param, l.index, l.value]);
      expect("0x" + Buffer.from(encodeLeaf(l)).toString("hex")).to.equal(packed);
      expect(hashLeaf(l)).to.equal(keccak256(packed));
    }
  });

  it("every weight has a Merkle proof against modelHash; a changed value fails", () => {
    const leaves = leafValues(graph);
    const idx = leaves.findIndex((l) => l.node === 0 && l.param === 3); // first weight of node 0
    for (const i of [0, idx, idx + 1, leaves.length - 1]) {
      const p = merkleProof(graph, i);
      expect(p.root).to.equal(manifest.modelHash);
      expect(verifyMerkleProof(p.leaf, i, p.siblings, p.root)).to.equal(true);
      expect(verifyMerkleProof({ ...p.leaf, value: p.leaf.value + 1n }, i, p.siblings, p.root)).to.equal(false);
    }
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
      { kind: "input", count: 64, lo: 0, hi: 31 },
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
    expect(() => pack(lay, [px.map((v, i) => (i === 3 ? 32 : v)), [7]])).to.throw(RangeError);
  });
});
