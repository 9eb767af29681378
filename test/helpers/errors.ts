import { expect } from "chai";

/** Awaits `promise` and returns what it rejected with; fails when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error("expected a rejection, but the promise resolved");
}

/** Awaits `promise` and checks it rejected with an `ErrorClass` whose message matches `message`. */
export async function expectRejection(
  promise: Promise<unknown>,
  ErrorClass: abstract new (...args: never[]) => Error,
  message: RegExp,
): Promise<void> {
  const error = await rejectionOf(promise);
  expect(error).to.be.instanceOf(ErrorClass);
  expect(error.message).to.match(message);
}
