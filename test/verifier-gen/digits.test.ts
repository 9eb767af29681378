// A drawing becomes a digits model's input the way the UCI optical-digits data were made (data/README.md):
// a size-normalised 32x32 bitmap, 4x4 blocks counted into 8x8 values 0..16. The web app's canvas uses this.
import { expect } from "chai";
import {
  BITMAP_SIZE,
  blockCounts,
  digitPixels,
  normaliseDrawing,
  takesDigitImage,
} from "../../verifier-gen/src/digits.js";
import { interfaceOf } from "../../verifier-gen/src/interface.js";
import { loadModelDir } from "../../verifier-gen/src/pipeline.js";

/** A bitmap whose block (by, bx) has its first counts[by * 8 + bx] cells on. */
function bitmapWithCounts(counts: number[]): number[] {
  const bitmap = new Array<number>(BITMAP_SIZE * BITMAP_SIZE).fill(0);
  counts.forEach((c, b) => {
    const [by, bx] = [Math.floor(b / 8), b % 8];
    for (let k = 0; k < c; k++) bitmap[(by * 4 + Math.floor(k / 4)) * BITMAP_SIZE + bx * 4 + (k % 4)] = 1;
  });
  return bitmap;
}

describe("verifier-gen: digit drawings as model input", () => {
  it("counts the on pixels of each 4x4 block, row-major, 0..16", () => {
    const counts = Array.from({ length: 64 }, (_, i) => (i * 7) % 17);
    expect(blockCounts(bitmapWithCounts(counts))).to.deep.equal(counts);
    expect(() => blockCounts([1, 0])).to.throw(RangeError, /1024 cells/);
  });

  it("normalises a drawing: its ink's bounding box is scaled to fill the frame, so size and position do not matter", () => {
    // The same cross drawn small in a corner and twice as large in the middle gives the same input.
    const draw = (size: number, x0: number, y0: number, side: number) => {
      // bars an eighth of the box thick, as a brush would draw them at that size
      const ink = new Float32Array(size * size);
      const [a, b] = [(side * 7) / 16, (side * 9) / 16];
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          if ((x >= a && x < b) || (y >= a && y < b)) ink[(y0 + y) * size + x0 + x] = 1;
        }
      }
      return digitPixels(ink, size, size);
    };
    const small = draw(224, 10, 10, 64);
    expect(draw(224, 60, 80, 128)).to.deep.equal(small);
    expect(small.reduce((a, b) => a + b, 0)).to.be.greaterThan(0);
    // A bitmap that already fills the frame is read as it is.
    const counts = Array.from({ length: 64 }, (_, i) => (i % 8 === 0 || i % 8 === 7 || i < 8 || i >= 56 ? 16 : i % 5));
    const bitmap = bitmapWithCounts(counts);
    expect(blockCounts(normaliseDrawing(bitmap, BITMAP_SIZE, BITMAP_SIZE))).to.deep.equal(counts);
    expect(normaliseDrawing(new Float32Array(100), 10, 10).every((v) => v === 0)).to.equal(true);
  });

  it("offers the canvas for the digits models only", () => {
    for (const [dir, digits] of [
      ["models/build/digits-mlp", true],
      ["models/build/digits-cnn", true],
      ["models/build/iris_mlp", false],
    ] as const) {
      const md = loadModelDir(dir);
      expect(takesDigitImage(interfaceOf(md.manifest), md.manifest.name), dir).to.equal(digits);
    }
  });
});
