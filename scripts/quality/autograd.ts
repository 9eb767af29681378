/**
 * A minimal reverse-mode autodiff over row-major matrices (Float64Array), enough to train a tiny BERT:
 * gather, matmul, bias, layer norm, softmax, GELU (erf), tanh, column slices. Each op records a backward
 * closure on the tape; `backward(loss)` runs them in reverse and accumulates into `grad`.
 */

export class Mat {
  grad: Float64Array | undefined;
  back: (() => void) | undefined;
  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly data: Float64Array = new Float64Array(rows * cols),
  ) {}
  g(): Float64Array {
    return (this.grad ??= new Float64Array(this.rows * this.cols));
  }
}

let tape: Mat[] = [];
let recording = true;

/** Runs `fn` without recording (inference). */
export function noGrad<T>(fn: () => T): T {
  const was = recording;
  recording = false;
  try {
    return fn();
  } finally {
    recording = was;
  }
}

function node(rows: number, cols: number, back: (out: Mat) => void): Mat {
  const out = new Mat(rows, cols);
  if (recording) {
    out.back = () => back(out);
    tape.push(out);
  }
  return out;
}

/** Back-propagates from a 1x1 `loss` (d loss = 1), then clears the tape. Parameters keep their grads. */
export function backward(loss: Mat): void {
  loss.g()[0] = 1;
  for (let i = tape.length - 1; i >= 0; i--) {
    const m = tape[i]!;
    if (m.grad !== undefined) m.back?.();
  }
  tape = [];
}

export function clearTape(): void {
  tape = [];
}

/** Rows `ids` of `table`. */
export function gather(table: Mat, ids: readonly number[]): Mat {
  const c = table.cols;
  const out = node(ids.length, c, (o) => {
    const g = table.g();
    const og = o.grad!;
    ids.forEach((id, r) => {
      for (let j = 0; j < c; j++) g[id * c + j]! += og[r * c + j]!;
    });
  });
  ids.forEach((id, r) => out.data.set(table.data.subarray(id * c, id * c + c), r * c));
  return out;
}

export function add(a: Mat, b: Mat): Mat {
  const out = node(a.rows, a.cols, (o) => {
    const og = o.grad!;
    const ag = a.g();
    const bg = b.g();
    for (let i = 0; i < og.length; i++) {
      ag[i]! += og[i]!;
      bg[i]! += og[i]!;
    }
  });
  for (let i = 0; i < out.data.length; i++) out.data[i] = a.data[i]! + b.data[i]!;
  return out;
}

/** a [n,k] @ b [k,m] (+ bias [1,m]). */
export function matmul(a: Mat, b: Mat, bias?: Mat): Mat {
  const n = a.rows;
  const k = a.cols;
  const m = b.cols;
  const out = node(n, m, (o) => {
    const og = o.grad!;
    const ag = a.g();
    const bg = b.g();
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < k; p++) {
        const av = a.data[i * k + p]!;
        let s = 0;
        for (let j = 0; j < m; j++) {
          const gv = og[i * m + j]!;
          s += gv * b.data[p * m + j]!;
          bg[p * m + j]! += av * gv;
        }
        ag[i * k + p]! += s;
      }
    }
    if (bias) {
      const biasg = bias.g();
      for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) biasg[j]! += og[i * m + j]!;
    }
  });
  const d = out.data;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) d[i * m + j] = bias ? bias.data[j]! : 0;
    for (let p = 0; p < k; p++) {
      const av = a.data[i * k + p]!;
      if (av === 0) continue;
      for (let j = 0; j < m; j++) d[i * m + j]! += av * b.data[p * m + j]!;
    }
  }
  return out;
}

/** a [n,k] @ b[m,k]^T, times `scale`. */
export function matmulBT(a: Mat, b: Mat, scale = 1): Mat {
  const n = a.rows;
  const k = a.cols;
  const m = b.rows;
  const out = node(n, m, (o) => {
    const og = o.grad!;
    const ag = a.g();
    const bg = b.g();
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        const gv = og[i * m + j]! * scale;
        for (let p = 0; p < k; p++) {
          ag[i * k + p]! += gv * b.data[j * k + p]!;
          bg[j * k + p]! += gv * a.data[i * k + p]!;
        }
      }
    }
  });
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a.data[i * k + p]! * b.data[j * k + p]!;
      out.data[i * m + j] = s * scale;
    }
  }
  return out;
}

/** Columns [start, end). */
export function sliceCols(a: Mat, start: number, end: number): Mat {
  const w = end - start;
  const out = node(a.rows, w, (o) => {
    const ag = a.g();
    for (let i = 0; i < a.rows; i++) for (let j = 0; j < w; j++) ag[i * a.cols + start + j]! += o.grad![i * w + j]!;
  });
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < w; j++) out.data[i * w + j] = a.data[i * a.cols + start + j]!;
  return out;
}

export function concatCols(parts: readonly Mat[]): Mat {
  const rows = parts[0]!.rows;
  const cols = parts.reduce((s, p) => s + p.cols, 0);
  const out = node(rows, cols, (o) => {
    let off = 0;
    for (const p of parts) {
      const pg = p.g();
      for (let i = 0; i < rows; i++)
        for (let j = 0; j < p.cols; j++) pg[i * p.cols + j]! += o.grad![i * cols + off + j]!;
      off += p.cols;
    }
  });
  let off = 0;
  for (const p of parts) {
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < p.cols; j++) out.data[i * cols + off + j] = p.data[i * p.cols + j]!;
    off += p.cols;
  }
  return out;
}

/** Row-wise softmax. */
export function softmaxRows(a: Mat): Mat {
  const { rows, cols } = a;
  const out = node(rows, cols, (o) => {
    const ag = a.g();
    for (let i = 0; i < rows; i++) {
      let dot = 0;
      for (let j = 0; j < cols; j++) dot += o.grad![i * cols + j]! * o.data[i * cols + j]!;
      for (let j = 0; j < cols; j++) {
        ag[i * cols + j]! += o.data[i * cols + j]! * (o.grad![i * cols + j]! - dot);
      }
    }
  });
  for (let i = 0; i < rows; i++) {
    let max = -Infinity;
    for (let j = 0; j < cols; j++) max = Math.max(max, a.data[i * cols + j]!);
    let sum = 0;
    for (let j = 0; j < cols; j++) {
      const d = a.data[i * cols + j]! - max;
      // Flush what would be a subnormal to zero: subnormal arithmetic is orders of magnitude slower.
      const e = d < -40 ? 0 : Math.exp(d);
      out.data[i * cols + j] = e;
      sum += e;
    }
    for (let j = 0; j < cols; j++) out.data[i * cols + j]! /= sum;
  }
  return out;
}

/** Row-wise layer normalisation with gain and bias [1, cols]. */
export function layerNorm(a: Mat, gamma: Mat, beta: Mat, eps = 1e-12): Mat {
  const { rows, cols } = a;
  const xhat = new Float64Array(rows * cols);
  const inv = new Float64Array(rows);
  const out = node(rows, cols, (o) => {
    const ag = a.g();
    const gg = gamma.g();
    const bg = beta.g();
    for (let i = 0; i < rows; i++) {
      let s1 = 0;
      let s2 = 0;
      for (let j = 0; j < cols; j++) {
        const gy = o.grad![i * cols + j]!;
        gg[j]! += gy * xhat[i * cols + j]!;
        bg[j]! += gy;
        const gx = gy * gamma.data[j]!;
        s1 += gx;
        s2 += gx * xhat[i * cols + j]!;
      }
      for (let j = 0; j < cols; j++) {
        const gx = o.grad![i * cols + j]! * gamma.data[j]!;
        ag[i * cols + j]! += (inv[i]! / cols) * (cols * gx - s1 - xhat[i * cols + j]! * s2);
      }
    }
  });
  for (let i = 0; i < rows; i++) {
    let mean = 0;
    for (let j = 0; j < cols; j++) mean += a.data[i * cols + j]!;
    mean /= cols;
    let v = 0;
    for (let j = 0; j < cols; j++) v += (a.data[i * cols + j]! - mean) ** 2;
    v /= cols;
    inv[i] = 1 / Math.sqrt(v + eps);
    for (let j = 0; j < cols; j++) {
      const x = (a.data[i * cols + j]! - mean) * inv[i]!;
      xhat[i * cols + j] = x;
      out.data[i * cols + j] = x * gamma.data[j]! + beta.data[j]!;
    }
  }
  return out;
}

/** erf, Abramowitz-Stegun 7.1.26 refined (|error| < 1.2e-7). */
export function erf(x: number): number {
  // Numerical Recipes erfc approximation (fractional error < 1.2e-7).
  const z = Math.abs(x);
  if (z > 6) return x > 0 ? 1 : -1;
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - r : r - 1;
}

/** GELU(x) = x * (1 + erf(x / sqrt 2)) / 2, as in BERT. */
export function gelu(a: Mat): Mat {
  const out = node(a.rows, a.cols, (o) => {
    const ag = a.g();
    for (let i = 0; i < a.data.length; i++) {
      const x = a.data[i]!;
      const cdf = 0.5 * (1 + erf(x / Math.SQRT2));
      const pdf = Math.abs(x) > 12 ? 0 : Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
      ag[i]! += o.grad![i]! * (cdf + x * pdf);
    }
  });
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i]!;
    out.data[i] = 0.5 * x * (1 + erf(x / Math.SQRT2));
  }
  return out;
}

export function tanh(a: Mat): Mat {
  const out = node(a.rows, a.cols, (o) => {
    const ag = a.g();
    for (let i = 0; i < a.data.length; i++) ag[i]! += o.grad![i]! * (1 - o.data[i]! ** 2);
  });
  for (let i = 0; i < a.data.length; i++) out.data[i] = Math.tanh(a.data[i]!);
  return out;
}

/** Row `r` as [1, cols]. */
export function row(a: Mat, r: number): Mat {
  return sliceRows(a, r, r + 1);
}

export function sliceRows(a: Mat, start: number, end: number): Mat {
  const c = a.cols;
  const out = node(end - start, c, (o) => {
    const ag = a.g();
    for (let i = 0; i < o.data.length; i++) ag[start * c + i]! += o.grad![i]!;
  });
  out.data.set(a.data.subarray(start * c, end * c));
  return out;
}

/** Mean over rows: [n, c] -> [1, c]. */
export function meanRows(a: Mat): Mat {
  const { rows, cols } = a;
  const out = node(1, cols, (o) => {
    const ag = a.g();
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) ag[i * cols + j]! += o.grad![j]! / rows;
  });
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out.data[j]! += a.data[i * cols + j]! / rows;
  return out;
}

export function relu(a: Mat): Mat {
  const out = node(a.rows, a.cols, (o) => {
    const ag = a.g();
    for (let i = 0; i < a.data.length; i++) if (a.data[i]! > 0) ag[i]! += o.grad![i]!;
  });
  for (let i = 0; i < a.data.length; i++) out.data[i] = Math.max(0, a.data[i]!);
  return out;
}

/** Mean binary cross-entropy with logits over a [n,1] column; returns a 1x1 loss. */
export function bceWithLogits(logits: Mat, labels: readonly number[]): Mat {
  const n = logits.rows;
  const out = node(1, 1, (o) => {
    const lg = logits.g();
    for (let i = 0; i < n; i++) {
      const p = 1 / (1 + Math.exp(-logits.data[i]!));
      lg[i]! += (o.grad![0]! * (p - labels[i]!)) / n;
    }
  });
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const z = logits.data[i]!;
    loss += Math.max(z, 0) - z * labels[i]! + Math.log1p(Math.exp(-Math.abs(z)));
  }
  out.data[0] = loss / n;
  return out;
}

/** Mean softmax cross-entropy over rows of `logits` [n, classes]; returns a 1x1 loss. */
export function softmaxCrossEntropy(logits: Mat, targets: readonly number[]): Mat {
  const { rows, cols } = logits;
  const probs = new Float64Array(rows * cols);
  let loss = 0;
  for (let i = 0; i < rows; i++) {
    let max = -Infinity;
    for (let j = 0; j < cols; j++) max = Math.max(max, logits.data[i * cols + j]!);
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(logits.data[i * cols + j]! - max);
    for (let j = 0; j < cols; j++) probs[i * cols + j] = Math.exp(logits.data[i * cols + j]! - max) / sum;
    loss -= Math.log(probs[i * cols + targets[i]!]! + 1e-300);
  }
  const out = node(1, 1, (o) => {
    const lg = logits.g();
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const y = j === targets[i] ? 1 : 0;
        lg[i * cols + j]! += (o.grad![0]! * (probs[i * cols + j]! - y)) / rows;
      }
    }
  });
  out.data[0] = loss / rows;
  return out;
}

/** Adam with decoupled weight decay over a list of parameters. */
export class Adam {
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  private t = 0;
  constructor(
    readonly params: readonly Mat[],
    readonly lr = 1e-3,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly eps = 1e-8,
    readonly weightDecay = 0,
  ) {
    this.m = params.map((p) => new Float64Array(p.data.length));
    this.v = params.map((p) => new Float64Array(p.data.length));
  }
  step(lr = this.lr, gradScale = 1): void {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    this.params.forEach((p, k) => {
      const g = p.grad;
      if (!g) return;
      const m = this.m[k]!;
      const v = this.v[k]!;
      for (let i = 0; i < g.length; i++) {
        const gi = g[i]! * gradScale;
        const mi = this.beta1 * m[i]! + (1 - this.beta1) * gi;
        const vi = this.beta2 * v[i]! + (1 - this.beta2) * gi * gi;
        // Flush subnormals (slow arithmetic) to zero.
        m[i] = Math.abs(mi) < 1e-30 ? 0 : mi;
        v[i] = vi < 1e-60 ? 0 : vi;
        p.data[i]! -= lr * (m[i]! / c1 / (Math.sqrt(v[i]! / c2) + this.eps) + this.weightDecay * p.data[i]!);
      }
      g.fill(0);
    });
  }
}

/** Stacks [1, c] (or [n_i, c]) rows into one matrix. */
export function concatRows(parts: readonly Mat[]): Mat {
  const cols = parts[0]!.cols;
  const rows = parts.reduce((s, p) => s + p.rows, 0);
  const out = node(rows, cols, (o) => {
    let off = 0;
    for (const p of parts) {
      const pg = p.g();
      for (let i = 0; i < p.data.length; i++) pg[i]! += o.grad![off + i]!;
      off += p.data.length;
    }
  });
  let off = 0;
  for (const p of parts) {
    out.data.set(p.data, off);
    off += p.data.length;
  }
  return out;
}
