// How the page reads benchmark attestations. A record proves that the model's outputs agree with `correct` of
// the `samples` labels of the committed test set, and the attester chose that set and its labels: it is an
// accuracy only on a test set the reader trusts. Two records on the same model commitment and test set that
// disagree cannot both be proven with sound keys (the count is a function of the two), so the page flags them.

/** One record as the page lists it (BenchmarkRegistry.getAttestation, and the model it belongs to). */
export interface AttestationRecord {
  attestationId: bigint;
  modelId: bigint;
  modelHash: string;
  dataset: string;
  samples: number;
  correct: number;
}

/**
 * For every record, the ids of the records (of any model) on the same model commitment and test set with
 * another count: one of their verification keys is not sound.
 */
export function attestationConflicts(records: readonly AttestationRecord[]): Map<bigint, bigint[]> {
  // the commitment binds the sample count too
  const statement = (r: AttestationRecord) => `${r.modelHash.toLowerCase()}/${r.dataset.toLowerCase()}`;
  const byStatement = new Map<string, AttestationRecord[]>();
  for (const r of records) byStatement.set(statement(r), [...(byStatement.get(statement(r)) ?? []), r]);
  return new Map(
    records.map((r) => [
      r.attestationId,
      byStatement
        .get(statement(r))!
        .filter((o) => o.correct !== r.correct)
        .map((o) => o.attestationId),
    ]),
  );
}
