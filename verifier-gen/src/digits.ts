/**
 * Handwritten digits as the UCI optical-digits models read them (data/README.md): a 32x32 binary bitmap of
 * the digit, size-normalised, cut into non-overlapping 4x4 blocks, and the on pixels of each block counted,
 * giving 8x8 values 0..16 (row-major) in the model's own input space. The web app's canvas turns a drawing
 * into a model input here, and only here; the values then go through the model interface
 * (quantizeFloatInput) exactly as the CLI's --values do.
 */
import type { ModelInterface } from "./interface.js";
import { inputFloatRange } from "./interface.js";

/** Side of the normalised bitmap, and of a block. */
export const BITMAP_SIZE = 32;
export const BLOCK_SIZE = 4;
/** Values per digit image (8 x 8) and the largest (a full 4x4 block). */
export const DIGIT_PIXELS = (BITMAP_SIZE / BLOCK_SIZE) ** 2;
export const MAX_PIXEL = BLOCK_SIZE * BLOCK_SIZE;

/** Whether a model reads an 8x8 digit image: a digits model (by name) of 64 values whose range holds 0..16. */
export function takesDigitImage(i: ModelInterface, name: string): boolean {
  const n = i.input.shape.reduce((a, b) => a * b, 1);
  const { min, max } = inputFloatRange(i);
  return /digit/i.test(name) && n === DIGIT_PIXELS && min <= 0 && max >= MAX_PIXEL - i.input.scale / 2;
}

/** A 32x32 bitmap (1 = ink, row-major) -> the 64 block counts 0..16, row-major. */
export function blockCounts(bitmap: ArrayLike<number>): number[] {
  if (bitmap.length !== BITMAP_SIZE * BITMAP_SIZE) {
    throw new RangeError(`a digit bitmap has ${BITMAP_SIZE * BITMAP_SIZE} cells, not ${bitmap.length}`);
  }
  const side = BITMAP_SIZE / BLOCK_SIZE;
  const out = new Array<number>(side * side).fill(0);
  for (let y = 0; y < BITMAP_SIZE; y++) {
    for (let x = 0; x < BITMAP_SIZE; x++) {
      if (bitmap[y * BITMAP_SIZE + x]! > 0) out[Math.floor(y / BLOCK_SIZE) * side + Math.floor(x / BLOCK_SIZE)]! += 1;
    }
  }
  return out;
}

/**
 * A drawing (ink coverage 0..1 per pixel of a `width` x `height` image, row-major) -> the 32x32 bitmap: the
 * ink's bounding box scaled, keeping its aspect, until its longer side fills the frame, centred; a bitmap
 * cell is on when at least `threshold` of the area it samples is inked. An empty drawing gives an empty bitmap.
 */
export function normaliseDrawing(ink: ArrayLike<number>, width: number, height: number, threshold = 0.3): number[] {
  if (ink.length !== width * height) throw new RangeError(`ink has ${ink.length} values, not ${width} x ${height}`);
  let x0 = width,
    y0 = height,
    x1 = -1,
    y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x]! > 0) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
  }
  const bitmap = new Array<number>(BITMAP_SIZE * BITMAP_SIZE).fill(0);
  if (x1 < 0) return bitmap;
  const w = x1 - x0 + 1;
  const h = y1 - y0 + 1;
  const side = Math.max(w, h);
  // The source square (side x side) centred on the box; each bitmap cell samples side/32 source pixels a side.
  const sx0 = x0 - (side - w) / 2;
  const sy0 = y0 - (side - h) / 2;
  const step = side / BITMAP_SIZE;
  for (let cy = 0; cy < BITMAP_SIZE; cy++) {
    for (let cx = 0; cx < BITMAP_SIZE; cx++) {
      let inked = 0;
      let total = 0;
      const ya = Math.floor(sy0 + cy * step);
      const yb = Math.max(ya + 1, Math.floor(sy0 + (cy + 1) * step));
      const xa = Math.floor(sx0 + cx * step);
      const xb = Math.max(xa + 1, Math.floor(sx0 + (cx + 1) * step));
      for (let y = ya; y < yb; y++) {
        for (let x = xa; x < xb; x++) {
          total++;
          if (x >= 0 && y >= 0 && x < width && y < height) inked += ink[y * width + x]!;
        }
      }
      if (total > 0 && inked / total >= threshold) bitmap[cy * BITMAP_SIZE + cx] = 1;
    }
  }
  return bitmap;
}

/** A drawing -> the model input of a digits model: 64 pixel values 0..16. */
export function digitPixels(ink: ArrayLike<number>, width: number, height: number): number[] {
  return blockCounts(normaliseDrawing(ink, width, height));
}
