// "Verify this proof yourself": the Groth16 proof the result was accepted with, read from the submitting
// transaction, re-checked here in the browser with snarkjs against the build's verification key, on public
// signals the page computes itself from the request's input and the settled output (the same packing the
// verifier contract does: verifier-gen/src/signals.ts). The key is the build's (sha256 listed in the
// manifest), and every one of its constants is looked for in the code of the verifier the chain used.
import { useState } from "react";
import * as snarkjs from "snarkjs";
import type { Chain, ModelRow, ZkCheck } from "../chain.js";
import { Alert, Hash } from "./common.js";
import { message } from "../format.js";
import { batchPublicSignals, hasInputHash, signalsOfSlot, type SignalSpec } from "../../../verifier-gen/src/signals.js";
import { unpack, type PackLayout } from "../../../verifier-gen/src/packing.js";
import type { ModelBuild } from "../../../operator/src/client-core.js";
import { keyConstantsInCode, type VerificationKeyConstants } from "../../../verifier-gen/src/vkbinding.js";

interface Outcome {
  valid: boolean;
  signals: bigint[];
  keyInCode: { found: number; total: number };
  check: ZkCheck;
  decodedSignals: string[];
  ms: number;
}

export function VerifyProof({
  chain,
  model,
  build,
  requestId,
}: {
  chain: Chain;
  model: ModelRow;
  build: ModelBuild;
  requestId: bigint;
}) {
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const verify = async () => {
    setBusy(true);
    setProblem(null);
    try {
      const started = performance.now();
      const check = await chain.zkProof(requestId, build);
      const vk = (await chain.verificationKey(model, build)) as VerificationKeyConstants;
      const spec = build.manifest as unknown as SignalSpec;
      // Slot by slot, in the circuit's order (a single-inference build has slot 0 only); a sha256 build's input
      // signal is the hash of every slot's input bytes themselves, its outputs one packed stream.
      const signals = batchPublicSignals(
        spec,
        check.slots.map((s) => ({
          q: s.quantized,
          output: s.output,
          ...(s.input === undefined ? {} : { input: s.input }),
        })),
      );
      // Solidity's G2 order is (imaginary, real): back to snarkjs's (real, imaginary).
      const { a, b, c } = check.proof;
      const proof = {
        pi_a: [a[0].toString(), a[1].toString(), "1"],
        pi_b: [
          [b[0][1].toString(), b[0][0].toString()],
          [b[1][1].toString(), b[1][0].toString()],
          ["1", "0"],
        ],
        pi_c: [c[0].toString(), c[1].toString(), "1"],
        protocol: "groth16",
        curve: "bn128",
      };
      const valid = await snarkjs.groth16.verify(vk as unknown as object, signals.map(String), proof);
      const keyInCode = keyConstantsInCode(vk, await chain.code(check.verifier));
      setOutcome({
        valid,
        signals,
        keyInCode,
        check,
        decodedSignals: describeSlots(spec, check.slots.length, signals),
        ms: Math.round(performance.now() - started),
      });
    } catch (e) {
      setProblem(message(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="verify-title" className="panel verify">
      <h2 id="verify-title">Verify this proof yourself</h2>
      <p className="muted">
        Re-checks the Groth16 proof in this browser with snarkjs, against the build&apos;s verification key, on public
        signals computed here from the request&apos;s input and the settled output.
      </p>
      <button type="button" onClick={() => void verify()} disabled={busy} data-testid="verify-proof">
        {busy ? "Verifying…" : "Verify the proof in my browser"}
      </button>
      {problem && <Alert kind="error">{problem}</Alert>}
      {outcome && (
        <div aria-live="polite">
          <Alert kind={outcome.valid ? "ok" : "error"} testId="proof-verdict">
            {outcome.valid
              ? `Valid: the proof shows that model ${build.name} (modelHash ${build.manifest.modelHash?.slice(0, 10)}…) maps this input to this output (checked in ${outcome.ms} ms).`
              : "INVALID: this proof does not verify for this input and output."}
          </Alert>
          <p data-testid="proof-covers-request">
            {outcome.check.matchesRequest
              ? `It covers this request${outcome.check.slots.length > 1 ? ` (slot ${outcome.check.slot} of ${outcome.check.slots.length})` : ""}: the input hashes to the request's inputHash and the output is the settled one.`
              : "It does NOT cover this request: the input or the output differs from what the request was created with and settled to."}
          </p>
          <p data-testid="key-in-code">
            Verification key bound to the verifier that accepted it on chain:{" "}
            {outcome.keyInCode.found === outcome.keyInCode.total ? "yes" : "NO"}, {outcome.keyInCode.found} of{" "}
            {outcome.keyInCode.total} key constants found in the code of{" "}
            <Hash value={outcome.check.verifier} label="verifier" />.
          </p>
          <p>
            Proof from transaction <Hash value={outcome.check.submitTx} label="transaction" />.
          </p>
          <h3>Public signals</h3>
          <ol className="signals" data-testid="public-signals">
            {outcome.signals.map((s, i) => (
              <li key={i}>
                <code className="wrap">{s.toString()}</code>
                <div className="muted small">{outcome.decodedSignals[i]}</div>
              </li>
            ))}
          </ol>
        </div>
      )}
    </section>
  );
}

/** What each public signal holds, slot by slot ("slot i:" in front when the proof covers several). */
function describeSlots(spec: SignalSpec, slots: number, signals: bigint[]): string[] {
  // A sha256 build's signals are the whole batch's: described once.
  if (hasInputHash(spec)) return describeSignals(spec, signals);
  const out: string[] = [];
  let at = 0;
  for (let slot = 0; slot < slots; slot++) {
    const own = { ...spec, publicSignals: signalsOfSlot(spec, slot) };
    const described = describeSignals(own, signals.slice(at, at + own.publicSignals.length));
    at += own.publicSignals.length;
    out.push(...(slots === 1 ? described : described.map((d) => `slot ${slot}: ${d}`)));
  }
  return out;
}

/** What each public signal holds, unpacked with the build's layout. */
function describeSignals(spec: SignalSpec, signals: bigint[]): string[] {
  const layout: PackLayout | null = spec.packing;
  const packedIdx = spec.publicSignals.map((s, i) => (s.kind === "packed" ? i : -1)).filter((i) => i >= 0);
  const unpacked =
    layout === null
      ? null
      : unpack(
          layout,
          packedIdx.map((i) => signals[i]!),
        );
  return spec.publicSignals.map((s) => {
    if (s.kind === "inputHash") return `sha256(input bytes) >> 3 (${s.name})`;
    if (s.kind !== "packed" || layout === null || unpacked === null) return `${s.kind} ${s.name}`;
    // which values of the stream this element holds
    let start = 0;
    for (let e = 0; e < (s.element ?? 0); e++) start += layout.valuesPerElement[e]!;
    const count = layout.valuesPerElement[s.element ?? 0]!;
    const parts: string[] = [];
    let offset = 0;
    layout.segments.forEach((seg, k) => {
      const from = Math.max(start, offset);
      const to = Math.min(start + count, offset + seg.count);
      if (from < to) {
        const values = unpacked[k]!.slice(from - offset, to - offset);
        parts.push(`${seg.kind} ${from - offset}..${to - offset - 1}: ${values.join(" ")}`);
      }
      offset += seg.count;
    });
    return `packs ${parts.join("; ")}`;
  });
}
