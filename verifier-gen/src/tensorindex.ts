/**
 * Index maps of data movement on row-major tensors (Transpose, Slice, Concat, Gather with constant indices,
 * broadcasting): for every output element, the flat index of the input element it copies. The integer graph
 * keeps them as `gather` nodes, which cost nothing in a circuit (wires are re-routed) and one committed index
 * in a one-step. -1 means "the constant 0" (padding positions, constant parts of a Concat).
 */
import { ShapeError } from "./errors.js";

export type Shape = readonly number[];

const prod = (s: Shape) => s.reduce((a, b) => a * b, 1);

export function strides(s: Shape): number[] {
  const st = new Array<number>(s.length).fill(1);
  for (let i = s.length - 2; i >= 0; i--) st[i] = st[i + 1]! * s[i + 1]!;
  return st;
}

/** Multi-index of flat element e of shape s. */
function coords(e: number, s: Shape): number[] {
  const c = new Array<number>(s.length);
  for (let i = s.length - 1; i >= 0; i--) {
    c[i] = e % s[i]!;
    e = Math.floor(e / s[i]!);
  }
  return c;
}

/** Output of shape `out`, each element taken from `at(coords)` (a flat input index or -1). */
export function indexMap(out: Shape, at: (c: number[]) => number): number[] {
  return Array.from({ length: prod(out) }, (_, e) => at(coords(e, out)));
}

/** y = transpose(x, perm): y[c] = x[c permuted back]. */
export function transposeIndex(s: Shape, perm: readonly number[]): { shape: number[]; index: number[] } {
  if (perm.length !== s.length || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new ShapeError(`transpose permutation [${perm}] does not fit a tensor of rank ${s.length}`);
  }
  const shape = perm.map((p) => s[p]!);
  const st = strides(s);
  return { shape, index: indexMap(shape, (c) => c.reduce((acc, v, i) => acc + v * st[perm[i]!]!, 0)) };
}

/** numpy broadcasting of shapes. */
export function broadcastShape(a: Shape, b: Shape): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new ShapeError(`shapes [${a}] and [${b}] do not broadcast`);
    out.push(Math.max(x, y));
  }
  return out;
}

/** Index map that broadcasts a tensor of shape `from` to shape `to` (numpy rules). */
export function broadcastIndex(from: Shape, to: Shape): number[] {
  const st = strides(from);
  const off = to.length - from.length;
  if (off < 0) throw new ShapeError(`cannot broadcast [${from}] to [${to}]`);
  return indexMap(to, (c) => {
    let acc = 0;
    for (let i = 0; i < from.length; i++) {
      const d = from[i]!;
      if (d !== 1 && d !== to[i + off]) throw new ShapeError(`cannot broadcast [${from}] to [${to}]`);
      acc += (d === 1 ? 0 : c[i + off]!) * st[i]!;
    }
    return acc;
  });
}

/** ONNX Slice over the given axes (starts/ends clamped as ONNX specifies, any step sign). */
export function sliceIndex(
  s: Shape,
  starts: readonly number[],
  ends: readonly number[],
  axes: readonly number[],
  steps: readonly number[],
): { shape: number[]; index: number[] } {
  const begin = s.map(() => 0);
  const step = s.map(() => 1);
  const shape = [...s];
  axes.forEach((a0, k) => {
    const a = a0 < 0 ? a0 + s.length : a0;
    const d = s[a]!;
    const st = steps[k] ?? 1;
    if (st === 0) throw new ShapeError("Slice step 0");
    const norm = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v < 0 ? v + d : v));
    const b = st > 0 ? norm(starts[k]!, 0, d) : norm(starts[k]!, -1, d - 1);
    const e = st > 0 ? norm(ends[k]!, 0, d) : norm(ends[k]!, -1, d - 1);
    begin[a] = b;
    step[a] = st;
    shape[a] = Math.max(0, st > 0 ? Math.ceil((e - b) / st) : Math.ceil((b - e) / -st));
  });
  const st = strides(s);
  return {
    shape,
    index: indexMap(shape, (c) => c.reduce((acc, v, i) => acc + (begin[i]! + v * step[i]!) * st[i]!, 0)),
  };
}

/** ONNX Gather of data of shape s along `axis` at constant indices (negative ones count from the end). */
export function gatherAxisIndex(
  s: Shape,
  axis: number,
  indices: readonly number[],
  indexDims: readonly number[],
): { shape: number[]; index: number[] } {
  const a = axis < 0 ? axis + s.length : axis;
  const d = s[a]!;
  const idx = indices.map((i) => (i < 0 ? i + d : i));
  if (idx.some((i) => i < 0 || i >= d)) throw new ShapeError(`Gather index out of range for axis of size ${d}`);
  const shape = [...s.slice(0, a), ...indexDims, ...s.slice(a + 1)];
  const st = strides(s);
  const ist = strides(indexDims);
  return {
    shape,
    index: indexMap(shape, (c) => {
      let acc = 0;
      for (let i = 0; i < a; i++) acc += c[i]! * st[i]!;
      let flat = 0;
      for (let j = 0; j < indexDims.length; j++) flat += c[a + j]! * ist[j]!;
      acc += idx[flat]! * st[a]!;
      for (let i = a + 1; i < s.length; i++) acc += c[i - 1 + indexDims.length]! * st[i]!;
      return acc;
    }),
  };
}

/**
 * Concat along `axis` of parts of the given shapes: per output element, which part and which flat index in it.
 */
export function concatIndex(
  shapes: readonly Shape[],
  axis: number,
): { shape: number[]; part: number[]; index: number[] } {
  const r = shapes[0]!.length;
  const a = axis < 0 ? axis + r : axis;
  const shape = [...shapes[0]!];
  shape[a] = shapes.reduce((t, s) => t + s[a]!, 0);
  const starts: number[] = [];
  let acc = 0;
  for (const s of shapes) {
    if (s.length !== r || s.some((d, i) => i !== a && d !== shape[i])) {
      throw new ShapeError(`Concat of [${shapes.map((x) => `[${x}]`).join(", ")}] along axis ${axis}`);
    }
    starts.push(acc);
    acc += s[a]!;
  }
  const part: number[] = [];
  const index: number[] = [];
  const strided = shapes.map(strides);
  indexMap(shape, (c) => {
    let p = 0;
    while (p + 1 < shapes.length && c[a]! >= starts[p + 1]!) p++;
    const local = [...c];
    local[a] = c[a]! - starts[p]!;
    part.push(p);
    index.push(local.reduce((t, v, i) => t + v * strided[p]![i]!, 0));
    return 0;
  });
  return { shape, part, index };
}

/**
 * Moves `axes` (sorted, non-negative) to the end: the permutation, the resulting shape, and rows x k where
 * k = product of the moved axes, rows = the rest.
 */
export function axesLast(s: Shape, axes: readonly number[]): { perm: number[]; rows: number; k: number } {
  const keep = s.map((_, i) => i).filter((i) => !axes.includes(i));
  const perm = [...keep, ...axes];
  return { perm, rows: prod(keep.map((i) => s[i]!)), k: prod(axes.map((i) => s[i]!)) };
}

/** Whether a permutation leaves the flat order unchanged (only unit axes move). */
export function isFlatIdentity(s: Shape, perm: readonly number[]): boolean {
  const moved = perm.filter((p) => s[p] !== 1);
  return moved.every((p, i) => i === 0 || p > moved[i - 1]!);
}

/** Composition: y = gather(gather(x, inner), outer) = gather(x, outer o inner). */
export function composeIndex(inner: readonly number[], outer: readonly number[]): number[] {
  return outer.map((i) => (i < 0 ? -1 : inner[i]!));
}
