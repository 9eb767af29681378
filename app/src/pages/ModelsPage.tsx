// Every registered model: name, modes, prices, input and output, modelHash, verifier, accuracy.
import type { ModelRow } from "../chain.js";
import { modeName } from "../chain.js";
import { Hash, Loading } from "../components/common.js";
import { amount } from "../format.js";
import { inputFloatRange } from "../../../verifier-gen/src/interface.js";
import { describeEvaluation } from "../model-info.js";

export function ModelsPage({ models }: { models: ModelRow[] | null }) {
  if (models === null) return <Loading what="the registered models" />;
  return (
    <section aria-labelledby="models-title">
      <h1 id="models-title">Models</h1>
      <p className="muted">
        Every model registered with the market. Inputs and outputs come from each build&apos;s manifest, accepted only
        when its integer graph commits to the modelHash registered on chain.
      </p>
      {models.length === 0 && <p>No model is registered yet.</p>}
      <div className="cards">
        {models.map((m) => (
          <article key={m.modelId.toString()} className="card" data-testid={`model-${m.modelId}`}>
            <h2>
              <span className="muted">#{m.modelId.toString()}</span> {m.name}{" "}
              {!m.active && <span className="badge badge-bad">inactive</span>}
            </h2>
            <dl>
              <dt>Modes</dt>
              <dd>
                {m.modes.map((x) => (
                  <span key={x} className={`badge mode-${modeName(x)}`}>
                    {modeName(x)}
                  </span>
                ))}
                {m.sampleBps !== undefined && <span className="muted"> sampled {m.sampleBps / 100} %</span>}
                {"manifest" in m.build && typeof m.build.manifest.batch === "number" && m.build.manifest.batch > 1 && (
                  <span className="muted" data-testid={`batch-${m.modelId}`}>
                    {" "}
                    one proof settles up to {m.build.manifest.batch} requests
                  </span>
                )}
              </dd>
              <dt>Price</dt>
              <dd>{m.prices.map((p) => amount(p.price, p.token)).join(" or ") || "not priced"}</dd>
              {"interface" in m.build ? (
                <>
                  <dt>Input</dt>
                  <dd>
                    {m.build.interface.input.shape.join(" × ")} values in [
                    {inputFloatRange(m.build.interface).min.toPrecision(4)},{" "}
                    {inputFloatRange(m.build.interface).max.toPrecision(4)}], step{" "}
                    {m.build.interface.input.scale.toPrecision(4)}
                  </dd>
                  <dt>Output</dt>
                  <dd>
                    {m.build.interface.output.kind}
                    {m.build.interface.output.kind !== "label" && ` [${m.build.interface.output.count}]`}
                    {m.build.interface.output.classes > 0 && `, ${m.build.interface.output.classes} classes`}
                  </dd>
                  <dt>Accuracy</dt>
                  <dd>{describeEvaluation(m.build.manifest)}</dd>
                </>
              ) : (
                <>
                  <dt>Build</dt>
                  <dd>
                    {m.modes.every((x) => x === 3)
                      ? "generative (quality mode): a text prompt in, text out"
                      : m.build.error}
                  </dd>
                </>
              )}
              <dt>modelHash</dt>
              <dd>
                <Hash value={m.modelHash} label="modelHash" />
              </dd>
              {m.verifier && (
                <>
                  <dt>Verifier</dt>
                  <dd>
                    <Hash value={m.verifier} label="verifier" />
                  </dd>
                </>
              )}
              <dt>Attested</dt>
              <dd data-testid={`attestations-${m.modelId}`}>
                {m.attestations.length === 0
                  ? "no benchmark attestation recorded"
                  : m.attestations.map((a) => (
                      <div key={a.attestationId.toString()} data-testid={`attestation-${a.attestationId}`}>
                        {a.correct} of {a.samples} correct on test set{" "}
                        <Hash value={a.dataset} label="test set commitment" />, its samples and labels chosen by{" "}
                        {a.byOwner ? "the model's owner " : "attester "}
                        <Hash value={a.attester} label="attester" />; proven on chain by{" "}
                        <Hash value={a.verifier} label="attestation verifier" />
                        {a.conflicts.length > 0 && (
                          <div className="alert alert-error">
                            Conflicts with record{a.conflicts.length > 1 ? "s" : ""}{" "}
                            {a.conflicts.map((id) => `#${id}`).join(", ")} on the same model and test set with another
                            count: one of the verification keys is not sound, trust neither.
                          </div>
                        )}
                      </div>
                    ))}
                {m.attestations.length > 0 && (
                  <div className="muted small">
                    A count is an accuracy only on a test set you trust: recompute its commitment from the published set
                    (verifier-gen dataset-commitment). It is proven with the key of the verifier the model&apos;s owner
                    named: check that key against the build before relying on it (docs/SECURITY.md).
                  </div>
                )}
              </dd>
              <dt>Operators</dt>
              <dd>{m.servers} serving</dd>
            </dl>
            <a className="button" href={`#/request/${m.modelId}`}>
              Request an inference
            </a>
          </article>
        ))}
      </div>
    </section>
  );
}
