/** Error classes of verifier-gen: short message, optional `cause`, a stable `code`. */
export class VerifierGenError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
/** The file is not a parseable ONNX model, or the model is malformed. */
export class OnnxParseError extends VerifierGenError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ONNX_PARSE", message, options);
  }
}
/** The model uses an operator (or an operator form) verifier-gen cannot compile. */
export class UnsupportedOperatorError extends VerifierGenError {
  readonly opType: string;
  readonly nodeName: string;
  constructor(opType: string, nodeName: string, detail: string | undefined, supported: readonly string[]) {
    super(
      "UNSUPPORTED_OP",
      `unsupported operator ${opType} (node "${nodeName}")${detail ? `: ${detail}` : ""}; supported: ${supported.join(", ")}`,
    );
    this.opType = opType;
    this.nodeName = nodeName;
  }
}
/** Shapes do not match (model vs model, or dataset vs model). */
export class ShapeError extends VerifierGenError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("SHAPE", message, options);
  }
}
/** A dataset / input / config file is invalid. */
export class InputError extends VerifierGenError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("INPUT", message, options);
  }
}
/** External tool (circom, snarkjs, onnxruntime) failed. */
export class ToolError extends VerifierGenError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("TOOL", message, options);
  }
}
/** Executors disagree or a proof/witness check failed. */
export class IntegrityError extends VerifierGenError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("INTEGRITY", message, options);
  }
}
