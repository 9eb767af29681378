/**
 * The synthetic task the project's own quality models are built for: addition questions over small
 * numbers, whose answers are checkable, so the cross-encoder's quality judgement can be measured (AUC) and
 * the generators' real accuracy is known. Prompts come from a few templates; answers are a number,
 * optionally in a short sentence.
 */

/** Operands are 0..MAX_OPERAND. */
export const MAX_OPERAND = 19;
export const MAX_SUM = 2 * MAX_OPERAND;

export const PROMPT_TEMPLATES = [
  "what is {a} + {b} ?",
  "{a} plus {b} = ?",
  "compute {a} + {b}",
  "what is the sum of {a} and {b} ?",
] as const;
export const ANSWER_TEMPLATES = ["{c}", "it is {c}", "the answer is {c}", "{a} + {b} = {c}"] as const;

export interface Question {
  a: number;
  b: number;
}

export function prompt(q: Question, template = 0): string {
  const t = PROMPT_TEMPLATES[template % PROMPT_TEMPLATES.length]!;
  return t.replace("{a}", String(q.a)).replace("{b}", String(q.b));
}

export function answer(q: Question, c: number, template = 0): string {
  const t = ANSWER_TEMPLATES[template % ANSWER_TEMPLATES.length]!;
  return t.replace("{a}", String(q.a)).replace("{b}", String(q.b)).replace("{c}", String(c));
}

/** The two operands of a prompt in any template, or undefined when it is not an addition question. */
export function parsePrompt(text: string): Question | undefined {
  const m = /(\d+)\s*(?:\+|plus|and)\s*(\d+)/.exec(text.toLowerCase());
  if (!m) return undefined;
  return { a: Number(m[1]), b: Number(m[2]) };
}

/** The number a response states (its last number), or undefined. */
export function parseAnswer(text: string): number | undefined {
  const all = text.match(/-?\d+/g);
  return all ? Number(all.at(-1)) : undefined;
}

/** Whether `response` correctly answers `promptText`. */
export function isCorrect(promptText: string, response: string): boolean {
  const q = parsePrompt(promptText);
  const c = parseAnswer(response);
  return q !== undefined && c !== undefined && q.a + q.b === c;
}

/** All ordered operand pairs. */
export function allQuestions(): Question[] {
  const out: Question[] = [];
  for (let a = 0; a <= MAX_OPERAND; a++) for (let b = 0; b <= MAX_OPERAND; b++) out.push({ a, b });
  return out;
}

/** Deterministic PRNG (mulberry32) for seeded data generation and training. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Held-out split by question: a question (a, b) and its mirror (b, a) are both in the evaluation split
 * or both in training, so held-out AUC measures generalisation to sums never seen in training.
 */
export function isHeldOut(q: Question): boolean {
  const lo = Math.min(q.a, q.b);
  const hi = Math.max(q.a, q.b);
  return (lo * 31 + hi * 17) % 5 === 0;
}

/** A wrong answer: half near misses (off by 1..3), half anywhere in 0..MAX_SUM. */
export function wrongAnswer(q: Question, rand: () => number): number {
  const right = q.a + q.b;
  for (;;) {
    let c: number;
    if (rand() < 0.5) {
      const d = 1 + Math.floor(rand() * 3);
      c = rand() < 0.5 ? right - d : right + d;
    } else {
      c = Math.floor(rand() * (MAX_SUM + 1));
    }
    if (c !== right && c >= 0 && c <= MAX_SUM) return c;
  }
}

/** Area under the ROC curve of `scores` for binary `labels` (ties count half). */
export function auc(scores: readonly number[], labels: readonly number[]): number {
  const idx = scores.map((_, i) => i).sort((i, j) => scores[i]! - scores[j]!);
  let rankSumPos = 0;
  let nPos = 0;
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[idx[k]!] === 1) {
        rankSumPos += avgRank;
        nPos++;
      }
    }
    i = j + 1;
  }
  const nNeg = idx.length - nPos;
  if (nPos === 0 || nNeg === 0) return Number.NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}
