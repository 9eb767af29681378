import { OperatorError } from "../errors.js";

/** A model folder (cross-encoder or generator) is missing files or has an unusable layout. */
export class ModelLayoutError extends OperatorError {}

/** Scoring or generation failed at run time (ONNX session, HTTP backend). */
export class QualityRuntimeError extends OperatorError {}
