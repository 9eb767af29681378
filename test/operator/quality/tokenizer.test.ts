// WordPiece tokenizer against the reference behaviour of the BERT tokenizer (the cases of its own test suite).
import { expect } from "chai";
import { WordPieceTokenizer } from "../../../operator/src/quality/tokenizer.js";
import { ModelLayoutError } from "../../../operator/src/quality/errors.js";

const VOCAB = [
  "[PAD]",
  "[UNK]",
  "[CLS]",
  "[SEP]",
  "want",
  "##want",
  "##ed",
  "wa",
  "un",
  "runn",
  "##ing",
  ",",
  "low",
  "lowest",
];

describe("WordPieceTokenizer", () => {
  it("basic tokenization: lower-cases, strips accents, splits punctuation, drops control characters", () => {
    const t = new WordPieceTokenizer(VOCAB);
    expect(t.basicTokenize(" \tHeLLo!how  \n Are yoU?  ")).to.deep.equal(["hello", "!", "how", "are", "you", "?"]);
    expect(t.basicTokenize("H\u00e9llo")).to.deep.equal(["hello"]);
    expect(t.basicTokenize(" \tH\u00e4LLo!how  \n Are yoU?  ")).to.deep.equal(["hallo", "!", "how", "are", "you", "?"]);
    expect(t.basicTokenize("a\u0000b\u200bc")).to.deep.equal(["abc"]);
  });

  it("keeps case and accents when do_lower_case is false; splits CJK ideographs", () => {
    const t = new WordPieceTokenizer(VOCAB, { doLowerCase: false });
    expect(t.basicTokenize(" \tH\u00e4LLo!how  \n Are yoU?  ")).to.deep.equal([
      "H\u00e4LLo",
      "!",
      "how",
      "Are",
      "yoU",
      "?",
    ]);
    expect(t.basicTokenize("ah\u535a\u63a8zz")).to.deep.equal(["ah", "\u535a", "\u63a8", "zz"]);
  });

  it("WordPiece: greedy longest match first with ## continuations, [UNK] for uncoverable words", () => {
    const t = new WordPieceTokenizer(VOCAB);
    expect(t.tokenize("")).to.deep.equal([]);
    expect(t.tokenize("unwanted running")).to.deep.equal(["un", "##want", "##ed", "runn", "##ing"]);
    expect(t.tokenize("unwantedX running")).to.deep.equal(["[UNK]", "runn", "##ing"]);
    expect(t.tokenize("lowest")).to.deep.equal(["lowest"]);
    expect(t.tokenize("x".repeat(101))).to.deep.equal(["[UNK]"]);
  });

  it("encodes pairs as [CLS] a [SEP] b [SEP] with token types, truncating the longer side first", () => {
    const t = new WordPieceTokenizer(VOCAB);
    const e = t.encodePair("unwanted", "running, low");
    expect(e.inputIds).to.deep.equal([2, 8, 5, 6, 3, 9, 10, 11, 12, 3]);
    expect(e.tokenTypeIds).to.deep.equal([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    expect(e.attentionMask).to.deep.equal(new Array(10).fill(1));
    const cut = t.encodePair("unwanted", "running, low", 7);
    expect(cut.inputIds).to.deep.equal([2, 8, 5, 3, 9, 10, 3]);
    const { length, pairs } = t.padBatch([cut, t.encodePair("low", "low")]);
    expect(length).to.equal(7);
    expect(pairs[1]!.inputIds).to.deep.equal([2, 12, 3, 12, 3, 0, 0]);
    expect(pairs[1]!.attentionMask).to.deep.equal([1, 1, 1, 1, 1, 0, 0]);
  });

  it("refuses a vocabulary without its special tokens", () => {
    expect(() => new WordPieceTokenizer(["a", "b"])).to.throw(ModelLayoutError);
  });
});
