/**
 * app/src/attestations.ts: which benchmark records the page flags as conflicting. A count is a function of the model
 * commitment and the test set, so two records of one statement with different counts mean an unsound key.
 */
import { expect } from "chai";
import { attestationConflicts, type AttestationRecord } from "../../app/src/attestations.js";

const MODEL = `0x${"ab".repeat(32)}`;
const OTHER_MODEL = `0x${"cd".repeat(32)}`;
const SET = `0x${"11".repeat(32)}`;
const OTHER_SET = `0x${"22".repeat(32)}`;

const record = (attestationId: bigint, modelId: bigint, modelHash: string, dataset: string, correct: number) =>
  ({ attestationId, modelId, modelHash, dataset, samples: 32, correct }) satisfies AttestationRecord;

describe("app: benchmark attestation conflicts", () => {
  it("flags records of the same model commitment and test set with another count, across model ids", () => {
    const conflicts = attestationConflicts([
      record(0n, 1n, MODEL, SET, 29),
      // a copy of the model (same commitment, another id) under a key whose maker can prove any count
      record(1n, 2n, MODEL.toUpperCase().replace("0X", "0x"), SET.toUpperCase().replace("0X", "0x"), 32),
      // the same count again: agreement, no conflict
      record(2n, 3n, MODEL, SET, 29),
    ]);
    expect(conflicts.get(0n)).to.deep.equal([1n]);
    expect(conflicts.get(1n)).to.deep.equal([0n, 2n]);
    expect(conflicts.get(2n)).to.deep.equal([1n]);
  });

  it("does not flag other test sets or other models", () => {
    const conflicts = attestationConflicts([
      record(0n, 1n, MODEL, SET, 29),
      record(1n, 1n, MODEL, OTHER_SET, 32),
      record(2n, 2n, OTHER_MODEL, SET, 3),
    ]);
    for (const id of [0n, 1n, 2n]) expect(conflicts.get(id)).to.deep.equal([]);
  });
});
