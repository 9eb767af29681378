// The model interface (verifier-gen/src/interface.ts): floats in the model's own space -> quantized
// integers -> request bytes (signed two's complement or unsigned, any width), the same bytes the operator
// and the verifiers decode; settled outputs decoded by kind and dequantized; bad input refused by name.
import { expect } from "chai";
import fc from "fast-check";
import { decodeInputRaw, encodeOutput } from "../../verifier-gen/src/encoding.js";
import {
  decodeModelOutput,
  interfaceOf,
  manifestLabels,
  quantizeFloatInput,
  type ModelInterface,
  type OutputKind,
} from "../../verifier-gen/src/interface.js";
import { inputEncoding } from "../../verifier-gen/src/merkle.js";
import { loadModelDir } from "../../verifier-gen/src/pipeline.js";

const iface = (lo: number, hi: number, scale: number, kind: OutputKind = "values", count = 2): ModelInterface => ({
  input: { shape: [1, 3], scale, lo, hi, encoding: inputEncoding(lo, hi) },
  output: { kind, count, scale: [0.5], classes: kind === "logits" ? count : 0 },
});

describe("verifier-gen: model interface", () => {
  it("quantizes floats as the manifest says and encodes them as the operator decodes them, any range", () => {
    fc.assert(
      fc.property(
        fc.constantFrom([-127, 127], [0, 255], [-32768, 32767], [0, 31], [-5, 1000]),
        fc.double({ min: 0.001, max: 10, noNaN: true }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }),
        ([lo, hi], scale, fractions) => {
          const i = iface(lo!, hi!, scale);
          const xs = fractions.map((f) => (lo! + f * (hi! - lo!)) * scale);
          const { q, bytes } = quantizeFloatInput(i, xs);
          expect(q).to.deep.equal(xs.map((x) => Math.min(hi!, Math.max(lo!, Math.floor(x / scale + 0.5)))));
          const graphLike = { input: { shape: [1, 3], lo: lo!, hi: hi! } } as Parameters<typeof decodeInputRaw>[0];
          expect(decodeInputRaw(graphLike, bytes)).to.deep.equal(q);
        },
      ),
    );
  });

  it("refuses a wrong count, a non-finite value and a value outside the model's range, naming the index", () => {
    const i = iface(-127, 127, 0.02);
    expect(() => quantizeFloatInput(i, [0, 0])).to.throw(/2 values, the model takes 3/);
    expect(() => quantizeFloatInput(i, [0, Number.NaN, 0])).to.throw(/index 1 is not a finite number/);
    expect(() => quantizeFloatInput(i, [0, 0, 2.6])).to.throw(/2.6 at index 2 is outside the model's range \[-2.54/);
    expect(quantizeFloatInput(i, [0, 0, 2.54]).q).to.deep.equal([0, 0, 127]);
  });

  it("decodes outputs by kind: a label, logits with their argmax, dequantized values", () => {
    expect(decodeModelOutput(iface(0, 1, 1, "label", 1), encodeOutput([7]))).to.deep.include({ label: 7, values: [7] });
    const logits = decodeModelOutput(iface(0, 1, 1, "logits", 3), encodeOutput([-4, 10, 3]));
    expect(logits.label).to.equal(1);
    expect(logits.values).to.deep.equal([-2, 5, 1.5]);
    // Per-class scales: the label is the largest value, not the largest integer.
    const perClass = {
      ...iface(0, 1, 1, "logits", 2),
      output: { kind: "logits" as const, count: 2, scale: [1, 0.1], classes: 2 },
    };
    expect(decodeModelOutput(perClass, encodeOutput([5, 20])).label).to.equal(0);
    const values = decodeModelOutput(iface(0, 1, 1, "values", 2), encodeOutput([-3, 8]));
    expect(values.label).to.equal(undefined);
    expect(values.values).to.deep.equal([-1.5, 4]);
    expect(() => decodeModelOutput(iface(0, 1, 1, "values", 2), encodeOutput([1]))).to.throw(
      /1 values, the model's interface says 2/,
    );
  });

  it("reads every committed build's interface from its manifest", () => {
    const kinds: Record<string, OutputKind> = {
      "digits-mlp": "label",
      "digits-cnn": "label",
      iris_mlp: "logits",
      diabetes_relu: "values",
    };
    for (const [build, kind] of Object.entries(kinds)) {
      const md = loadModelDir(`models/build/${build}`);
      const i = interfaceOf(md.manifest);
      expect(i.output.kind, build).to.equal(kind);
      expect(i.output.count, build).to.equal(md.manifest.output.count);
      expect(i.input.encoding, build).to.deep.equal(inputEncoding(md.graph.input.lo, md.graph.input.hi));
    }
  });

  it("reads the labels a manifest carries for people, dropping malformed or mis-sized ones", () => {
    const iris = manifestLabels(loadModelDir("models/build/iris_mlp").manifest);
    expect(iris.inputNames).to.have.length(4);
    expect(iris.classNames).to.deep.equal(["setosa", "versicolor", "virginica"]);
    expect(iris.evaluation?.quantizedAccuracy?.toFixed(4)).to.equal("0.9833");
    expect(iris.evaluation?.bitexact).to.equal(true);
    const base = { input: { shape: [1, 3] }, output: { classes: 2 } };
    expect(manifestLabels({ ...base, input: { shape: [1, 3], names: ["a", "b"] } }).inputNames).to.equal(undefined);
    expect(manifestLabels({ ...base, input: { shape: [1, 3], names: ["a", "b", 3] } }).inputNames).to.equal(undefined);
    expect(manifestLabels({ ...base, output: { classes: 2, names: ["x", "y", "z"] } }).classNames).to.equal(undefined);
    expect(manifestLabels({ ...base, evaluation: { samples: "many" } }).evaluation).to.equal(undefined);
    expect(
      manifestLabels({ ...base, evaluation: { dataset: "d", samples: 3, floatAccuracy: "1" } }).evaluation
        ?.floatAccuracy,
    ).to.equal(null);
  });
});
