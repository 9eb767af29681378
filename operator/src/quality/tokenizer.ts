/**
 * BERT WordPiece tokenizer (the `BertTokenizer` of the standard layout: vocab.txt + tokenizer_config.json),
 * written here because no well-kept npm library loads a local vocab.txt offline without pulling a whole ML
 * runtime in. Basic tokenization: clean control characters, pad CJK ideographs, optional lower-casing with
 * accent stripping, split on whitespace and punctuation; then greedy longest-match-first WordPiece with the
 * `##` continuation prefix, `[UNK]` for words that cannot be covered or are longer than 100 characters.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { ModelLayoutError } from "./errors.js";

export interface TokenizerOptions {
  doLowerCase: boolean;
  stripAccents?: boolean;
  unkToken: string;
  clsToken: string;
  sepToken: string;
  padToken: string;
  maxInputCharsPerWord: number;
}

export interface EncodedPair {
  inputIds: number[];
  attentionMask: number[];
  tokenTypeIds: number[];
}

const DEFAULTS: TokenizerOptions = {
  doLowerCase: true,
  unkToken: "[UNK]",
  clsToken: "[CLS]",
  sepToken: "[SEP]",
  padToken: "[PAD]",
  maxInputCharsPerWord: 100,
};

const TokenizerConfigSchema = z
  .object({
    do_lower_case: z.boolean().optional(),
    strip_accents: z.boolean().nullable().optional(),
    unk_token: z.string().optional(),
    cls_token: z.string().optional(),
    sep_token: z.string().optional(),
    pad_token: z.string().optional(),
  })
  .passthrough();

function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
    return true;
  }
  return /\p{P}/u.test(ch);
}

function isWhitespace(ch: string): boolean {
  return ch === " " || ch === "\t" || ch === "\n" || ch === "\r" || /\p{Zs}/u.test(ch);
}

function isControl(ch: string): boolean {
  if (ch === "\t" || ch === "\n" || ch === "\r") return false;
  return /\p{Cc}|\p{Cf}/u.test(ch);
}

function isCjk(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

export class WordPieceTokenizer {
  readonly vocab: ReadonlyMap<string, number>;
  readonly options: TokenizerOptions;
  private readonly idToToken: string[];

  constructor(tokens: readonly string[], options: Partial<TokenizerOptions> = {}) {
    this.options = { ...DEFAULTS, ...options };
    const vocab = new Map<string, number>();
    tokens.forEach((t, i) => {
      if (!vocab.has(t)) vocab.set(t, i);
    });
    this.vocab = vocab;
    this.idToToken = [...tokens];
    for (const special of [this.options.unkToken, this.options.clsToken, this.options.sepToken]) {
      if (!vocab.has(special)) throw new ModelLayoutError(`vocab has no ${special} token`);
    }
  }

  /** Loads vocab.txt (one token a line, id = line number) and tokenizer_config.json when present. */
  static fromFolder(folder: string): WordPieceTokenizer {
    const vocabPath = path.join(folder, "vocab.txt");
    if (!existsSync(vocabPath)) throw new ModelLayoutError(`${folder} has no vocab.txt`);
    const lines = readFileSync(vocabPath, "utf8").split(/\r?\n/);
    if (lines.at(-1) === "") lines.pop();
    let options: Partial<TokenizerOptions> = {};
    const configPath = path.join(folder, "tokenizer_config.json");
    if (existsSync(configPath)) {
      let parsed: z.infer<typeof TokenizerConfigSchema>;
      try {
        parsed = TokenizerConfigSchema.parse(JSON.parse(readFileSync(configPath, "utf8")));
      } catch (cause) {
        throw new ModelLayoutError(`${configPath} is not a valid tokenizer config`, { cause });
      }
      options = {
        ...(parsed.do_lower_case !== undefined ? { doLowerCase: parsed.do_lower_case } : {}),
        ...(typeof parsed.strip_accents === "boolean" ? { stripAccents: parsed.strip_accents } : {}),
        ...(parsed.unk_token !== undefined ? { unkToken: parsed.unk_token } : {}),
        ...(parsed.cls_token !== undefined ? { clsToken: parsed.cls_token } : {}),
        ...(parsed.sep_token !== undefined ? { sepToken: parsed.sep_token } : {}),
        ...(parsed.pad_token !== undefined ? { padToken: parsed.pad_token } : {}),
      };
    }
    return new WordPieceTokenizer(lines, options);
  }

  get size(): number {
    return this.idToToken.length;
  }

  idOf(token: string): number {
    return this.vocab.get(token) ?? this.vocab.get(this.options.unkToken)!;
  }

  tokenOf(id: number): string {
    return this.idToToken[id] ?? this.options.unkToken;
  }

  /** Basic tokenization: words and punctuation marks. */
  basicTokenize(text: string): string[] {
    let cleaned = "";
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      if (cp === 0 || cp === 0xfffd || isControl(ch)) continue;
      if (isCjk(cp)) cleaned += ` ${ch} `;
      else cleaned += isWhitespace(ch) ? " " : ch;
    }
    const out: string[] = [];
    const stripAccents = this.options.stripAccents ?? this.options.doLowerCase;
    for (let word of cleaned.split(" ")) {
      if (word === "") continue;
      if (this.options.doLowerCase) word = word.toLowerCase();
      if (stripAccents) word = word.normalize("NFD").replace(/\p{Mn}/gu, "");
      let current = "";
      for (const ch of word) {
        if (isPunctuation(ch)) {
          if (current !== "") out.push(current);
          out.push(ch);
          current = "";
        } else {
          current += ch;
        }
      }
      if (current !== "") out.push(current);
    }
    return out;
  }

  /** Greedy longest-match-first WordPiece of one word. */
  wordPiece(word: string): string[] {
    const chars = [...word];
    if (chars.length > this.options.maxInputCharsPerWord) return [this.options.unkToken];
    const pieces: string[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: string | undefined;
      while (start < end) {
        const sub = (start > 0 ? "##" : "") + chars.slice(start, end).join("");
        if (this.vocab.has(sub)) {
          found = sub;
          break;
        }
        end--;
      }
      if (found === undefined) return [this.options.unkToken];
      pieces.push(found);
      start = end;
    }
    return pieces;
  }

  tokenize(text: string): string[] {
    return this.basicTokenize(text).flatMap((w) => this.wordPiece(w));
  }

  encode(text: string): number[] {
    return this.tokenize(text).map((t) => this.idOf(t));
  }

  /**
   * `[CLS] a [SEP] b [SEP]` with token types 0 then 1, truncated longest-first to `maxLength` tokens
   * (the `truncation=True` behaviour of the reference implementation for pairs).
   */
  encodePair(a: string, b: string, maxLength = 512): EncodedPair {
    const ta = this.encode(a);
    const tb = this.encode(b);
    const budget = Math.max(0, maxLength - 3);
    while (ta.length + tb.length > budget) {
      if (ta.length > tb.length) ta.pop();
      else tb.pop();
    }
    const cls = this.idOf(this.options.clsToken);
    const sep = this.idOf(this.options.sepToken);
    const inputIds = [cls, ...ta, sep, ...tb, sep];
    const tokenTypeIds = [...new Array<number>(ta.length + 2).fill(0), ...new Array<number>(tb.length + 1).fill(1)];
    return { inputIds, attentionMask: new Array<number>(inputIds.length).fill(1), tokenTypeIds };
  }

  /** Pads a batch of encoded pairs to its longest member with the pad token (mask 0). */
  padBatch(batch: readonly EncodedPair[]): { length: number; pairs: EncodedPair[] } {
    const length = Math.max(...batch.map((p) => p.inputIds.length));
    const pad = this.vocab.get(this.options.padToken) ?? 0;
    const pairs = batch.map((p) => {
      const n = length - p.inputIds.length;
      return {
        inputIds: [...p.inputIds, ...new Array<number>(n).fill(pad)],
        attentionMask: [...p.attentionMask, ...new Array<number>(n).fill(0)],
        tokenTypeIds: [...p.tokenTypeIds, ...new Array<number>(n).fill(0)],
      };
    });
    return { length, pairs };
  }
}
