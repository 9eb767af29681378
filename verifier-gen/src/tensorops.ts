/**
 * Tensor arithmetic shared by the float graph and the integer interpreter (no file system, no ONNX parser:
 * the integer graph's commitment and interpreter load in the browser too).
 */
export type Shape = number[];

const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** The flat concatenation of tensors (what a gather's indices address). */
export function concatFlat(parts: readonly ArrayLike<number>[]): Float64Array {
  const y = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    y.set(Array.from(p), o);
    o += p.length;
  }
  return y;
}

/** y[b, i, j] = sum_k a[b, i, k] * bt[b, j, k]. */
export function matmulGeneric(
  a: ArrayLike<number>,
  bt: ArrayLike<number>,
  d: { batch: number; m: number; k: number; n: number },
): Float64Array {
  const y = new Float64Array(d.batch * d.m * d.n);
  for (let b = 0; b < d.batch; b++)
    for (let i = 0; i < d.m; i++)
      for (let j = 0; j < d.n; j++) {
        let s = 0;
        const ra = (b * d.m + i) * d.k,
          rb = (b * d.n + j) * d.k;
        for (let q = 0; q < d.k; q++) s += a[ra + q]! * bt[rb + q]!;
        y[(b * d.m + i) * d.n + j] = s;
      }
  return y;
}

/** The table row an embedding id reads: negative ids count from the end (as Gather does); others are clamped. */
export function embedRow(id: number, rows: number): number {
  const r = Math.trunc(id) < 0 ? Math.trunc(id) + rows : Math.trunc(id);
  return Math.min(rows - 1, Math.max(0, r));
}

/** Channel (axis 1) index of flat element i of a tensor of shape s, or 0 for per-tensor vectors. */
/**
 * The entry of a constant vector of `vecLen` entries that element i reads: per channel (axis 1) when `inner`
 * is absent, else floor(i / inner) % vecLen (inner = 1: a vector along the trailing axes, e.g. a bias on the
 * last axis or a constant of the tensor's whole shape).
 */
export function vectorIndex(i: number, s: Shape, vecLen: number, inner?: number): number {
  if (vecLen === 1) return 0;
  return inner === undefined ? channelOf(i, s, vecLen) : Math.floor(i / inner) % vecLen;
}

export function channelOf(i: number, s: Shape, vecLen: number): number {
  if (vecLen === 1) return 0;
  const inner = prod(s.slice(2));
  return Math.floor(i / inner) % (s[1] ?? 1);
}

export function convGeneric(
  x: ArrayLike<number>,
  inShape: readonly number[],
  outShape: readonly number[],
  kernel: readonly number[],
  strides: readonly number[],
  pads: readonly number[],
  W: ArrayLike<number>,
  B: ArrayLike<number>,
): Float64Array {
  const [C, H, Wd] = inShape as [number, number, number];
  const [OC, OH, OW] = outShape as [number, number, number];
  const [KH, KW] = kernel as [number, number];
  const y = new Float64Array(OC * OH * OW);
  for (let oc = 0; oc < OC; oc++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        let s = B[oc]!;
        for (let c = 0; c < C; c++)
          for (let kh = 0; kh < KH; kh++) {
            const ih = oh * strides[0]! - pads[0]! + kh;
            if (ih < 0 || ih >= H) continue;
            for (let kw = 0; kw < KW; kw++) {
              const iw = ow * strides[1]! - pads[1]! + kw;
              if (iw < 0 || iw >= Wd) continue;
              s += W[((oc * C + c) * KH + kh) * KW + kw]! * x[(c * H + ih) * Wd + iw]!;
            }
          }
        y[(oc * OH + oh) * OW + ow] = s;
      }
  return y;
}

/** Window element indices (flat, in-bounds only) for each pooled output. */
export function poolWindows(
  inShape: readonly number[],
  outShape: readonly number[],
  kernel: readonly number[],
  strides: readonly number[],
  pads: readonly number[],
): number[][] {
  const [C, H, Wd] = inShape as [number, number, number];
  const [, OH, OW] = outShape as [number, number, number];
  const res: number[][] = [];
  for (let c = 0; c < C; c++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        const win: number[] = [];
        for (let kh = 0; kh < kernel[0]!; kh++) {
          const ih = oh * strides[0]! - pads[0]! + kh;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < kernel[1]!; kw++) {
            const iw = ow * strides[1]! - pads[1]! + kw;
            if (iw < 0 || iw >= Wd) continue;
            win.push((c * H + ih) * Wd + iw);
          }
        }
        res.push(win);
      }
  return res;
}

export function poolGeneric(
  x: ArrayLike<number>,
  inShape: readonly number[],
  outShape: readonly number[],
  kernel: readonly number[],
  strides: readonly number[],
  pads: readonly number[],
  mode: "max" | "sum",
): Float64Array {
  const wins = poolWindows(inShape, outShape, kernel, strides, pads);
  return Float64Array.from(wins, (w) =>
    mode === "max" ? w.reduce((m, i) => Math.max(m, x[i]!), -Infinity) : w.reduce((s, i) => s + x[i]!, 0),
  );
}
