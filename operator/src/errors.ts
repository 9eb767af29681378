/** Base class of the operator's errors: a short message, the cause kept for logs. */
export class OperatorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The configuration (file, environment, flags) is invalid. */
export class ConfigError extends OperatorError {}

/** A request's input cannot be served: wrong length, values out of range, hash mismatch. */
export class BadInputError extends OperatorError {}

/** A chain call failed in a way retrying may fix (timeouts, dropped connections, rate limits). */
export class TransientChainError extends OperatorError {}

/** The model's executor could not produce a result. */
export class ExecutionError extends OperatorError {}
