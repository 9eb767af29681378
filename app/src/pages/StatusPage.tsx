// A request as it is being verified, re-read from the chain every second: each step with its transaction
// and gas, what its mode is doing (the challenge window's countdown, the sampling draw, the committee's
// scores), the verified output decoded, and for zk the proof re-checked in the browser.
import { useEffect, useState } from "react";
import type { Chain, ModelRow, RequestView } from "../chain.js";
import { modeName } from "../chain.js";
import { Alert, Hash, Loading } from "../components/common.js";
import { DigitImage } from "../components/DigitCanvas.js";
import { VerifyProof } from "../components/VerifyProof.js";
import { countdown, gas, message, shortAddress, time } from "../format.js";
import { className } from "../model-info.js";
import { takesDigitImage } from "../../../verifier-gen/src/digits.js";
import type { ModelBuild } from "../../../operator/src/client-core.js";

const POLL_MS = 1000;

export function StatusPage({
  chain,
  models,
  requestId,
}: {
  chain: Chain;
  models: ModelRow[] | null;
  requestId: bigint;
}) {
  const [view, setView] = useState<RequestView | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [moving, setMoving] = useState(false);
  const model = models?.find((m) => view !== null && m.modelId === view.modelId);
  const build: ModelBuild | undefined = model !== undefined && "interface" in model.build ? model.build : undefined;

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout>;
    let afterSettled = 0;
    const poll = async () => {
      try {
        const v = await chain.request(requestId, build);
        if (!live) return;
        setView(v);
        setProblem(null);
        // settled: two more reads catch the module's last events in later blocks, then it stops
        if ((v.status === "Finalized" || v.status === "Refunded") && ++afterSettled > 2) return;
      } catch (e) {
        if (live) setProblem(message(e));
      }
      if (live) timer = setTimeout(() => void poll(), POLL_MS);
    };
    void poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [chain, requestId, build]);

  if (problem !== null && view === null) return <Alert kind="error">{problem}</Alert>;
  if (view === null) return <Loading what={`request ${requestId}`} />;
  const settled = view.status === "Finalized" || view.status === "Refunded";
  const rejected = view.steps.some((s) => s.event === "RequestRejected");

  const moveClock = async (seconds: number) => {
    setMoving(true);
    try {
      await chain.advanceTime(seconds);
    } catch (e) {
      setProblem(message(e));
    } finally {
      setMoving(false);
    }
  };

  return (
    <section aria-labelledby="status-title">
      <h1 id="status-title">
        Request {requestId.toString()}{" "}
        <span className={`badge status-${view.status}`} data-testid="status">
          {rejected ? "Rejected" : view.status}
        </span>
      </h1>
      <p className="muted">
        {model?.name ?? `model ${view.modelId}`} in{" "}
        <span className={`badge mode-${modeName(view.mode)}`}>{modeName(view.mode)}</span> mode · requester{" "}
        <Hash value={view.requester} label="requester" />
        {view.operator !== "0x0000000000000000000000000000000000000000" && (
          <>
            {" "}
            · operator <Hash value={view.operator} label="operator" />
          </>
        )}
      </p>
      {problem && <Alert kind="error">{problem}</Alert>}

      <div className="status-grid">
        <section aria-labelledby="result-title" className="panel">
          <h2 id="result-title">Result</h2>
          <Result view={view} build={build} rejected={rejected} />
          {view.inputValues && build && takesDigitImage(build.interface, build.name) && (
            <div className="input-shown">
              <DigitImage
                values={view.inputValues.values}
                label="the digit this request asked about, as the model read it"
              />
              <span className="muted">the input as the chain holds it</span>
            </div>
          )}
        </section>

        <section aria-labelledby="mode-title" className="panel" aria-live="polite">
          <h2 id="mode-title">Verification</h2>
          <ModePanel
            view={view}
            chainLocal={chain.config.local}
            moving={moving}
            onMoveClock={(s) => void moveClock(s)}
          />
        </section>
      </div>

      <section aria-labelledby="steps-title">
        <h2 id="steps-title">Every step on chain</h2>
        <div className="table-scroll">
          <table data-testid="steps">
            <thead>
              <tr>
                <th scope="col">step</th>
                <th scope="col">time</th>
                <th scope="col">transaction</th>
                <th scope="col">gas</th>
                <th scope="col">sent by</th>
              </tr>
            </thead>
            <tbody>
              {view.steps.map((s) => (
                <tr key={`${s.tx}-${s.event}-${s.detail ?? ""}`}>
                  <td>
                    {s.label}
                    {s.detail && <div className="muted small">{s.detail}</div>}
                  </td>
                  <td>{time(s.at)}</td>
                  <td>
                    <Hash value={s.tx} label="transaction" />
                  </td>
                  <td className="num">{gas(s.gasUsed)}</td>
                  <td>
                    <code title={s.from}>{shortAddress(s.from)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row" colSpan={3}>
                  gas of the distinct transactions
                </th>
                <td className="num">{gas(uniqueGas(view))}</td>
                <td />
              </tr>
            </tfoot>
          </table>
        </div>
      </section>
      {view.mode === 0 && view.steps.some((s) => ZK_PROOF_EVENTS.has(s.event)) && model && build && (
        <VerifyProof chain={chain} model={model} build={build} requestId={requestId} />
      )}
      {!settled && <p className="muted">This page follows the chain; it updates by itself.</p>}
    </section>
  );
}

/** The events of a zk request whose transaction carries its proof (submitted, fulfilled, or in a batch). */
const ZK_PROOF_EVENTS = new Set(["ResultSubmitted", "ProofVerified", "BatchProofVerified"]);

function uniqueGas(view: RequestView): bigint {
  const seen = new Map<string, bigint>();
  for (const s of view.steps) seen.set(s.tx, s.gasUsed);
  return [...seen.values()].reduce((a, b) => a + b, 0n);
}

function Result({ view, build, rejected }: { view: RequestView; build: ModelBuild | undefined; rejected: boolean }) {
  if (view.status === "Refunded") return <p>Refunded: nobody answered before the deadline.</p>;
  if (rejected)
    return (
      <p data-testid="result">Rejected: the result was proven wrong; you were refunded and the operator slashed.</p>
    );
  if (view.mode === 3) {
    return (
      <>
        {view.response !== undefined ? (
          <p>
            Response: <q data-testid="response">{view.response}</q>
          </p>
        ) : (
          <p className="muted">No response yet.</p>
        )}
        {view.status === "Finalized" && <p data-testid="result">Accepted by the committee and paid.</p>}
      </>
    );
  }
  if (view.decoded === null) return <p className="muted">No verified output yet.</p>;
  const d = view.decoded;
  return (
    <div data-testid="result">
      {d.label !== undefined && (
        <p className="label-big">
          <span className="muted">verified label</span>{" "}
          <strong data-testid="label">{build ? className(build.manifest, d.label) : d.label}</strong>
        </p>
      )}
      {d.kind !== "label" && (
        <p>
          {d.kind}: [{d.values.map((v) => v.toPrecision(5)).join(", ")}]
        </p>
      )}
      <p className="muted small">quantized on chain: [{d.quantized.join(", ")}]</p>
    </div>
  );
}

function ModePanel({
  view,
  chainLocal,
  moving,
  onMoveClock,
}: {
  view: RequestView;
  chainLocal: boolean;
  moving: boolean;
  onMoveClock: (seconds: number) => void;
}) {
  const lines = [
    `created${view.status !== "Open" ? "" : ", waiting for an operator to claim it"}`,
    ...(view.operator !== "0x0000000000000000000000000000000000000000"
      ? [`claimed by ${shortAddress(view.operator)}`]
      : []),
  ];
  return (
    <>
      <ul className="checklist">
        {lines.map((l) => (
          <li key={l}>{l}</li>
        ))}
      </ul>
      {view.mode === 0 && (
        <p data-testid="zk-state">
          {view.steps.some((s) => s.event === "ProofVerified")
            ? "The Groth16 proof was verified by the model's verifier contract when it was submitted: the result is final."
            : "Waiting for the operator's proof."}
        </p>
      )}
      {view.optimistic && (
        <OptimisticPanel view={view} chainLocal={chainLocal} moving={moving} onMoveClock={onMoveClock} />
      )}
      {view.mode === 1 && !view.optimistic && <p>Waiting for the operator&apos;s result and trace commitment.</p>}
      {view.sampling && (
        <div data-testid="sampling-state">
          <p>
            Sampling phase: <strong>{view.sampling.phase}</strong>
          </p>
          <p>
            {!view.sampling.decided
              ? "Waiting for the randomness that decides whether a second operator recomputes it."
              : view.sampling.sampled
                ? "Sampled: a second operator recomputes the result blind."
                : "Not sampled: the result stands on the operator's commitment."}
          </p>
          {view.sampling.sampler !== "0x0000000000000000000000000000000000000000" && (
            <p data-testid="sampler">
              Second operator: <Hash value={view.sampling.sampler} label="second operator" />
              {view.sampling.samplerRevealed && " (revealed its output)"}
            </p>
          )}
          {view.sampling.verdict !== "None" && <p>Verdict: {view.sampling.verdict}</p>}
        </div>
      )}
      {view.mode === 2 && !view.sampling && <p>Waiting for the operator&apos;s commitment.</p>}
      {view.quality && (
        <div data-testid="quality-state">
          <p>
            {view.quality.drawn
              ? "Committee of validators (never the operator, never you):"
              : "Waiting for the randomness that draws the committee."}
          </p>
          {view.quality.drawn && (
            <table>
              <thead>
                <tr>
                  <th scope="col">validator</th>
                  <th scope="col">committed</th>
                  <th scope="col">score</th>
                </tr>
              </thead>
              <tbody>
                {view.quality.members.map((m) => (
                  <tr key={m.validator}>
                    <td>
                      <code>{shortAddress(m.validator)}</code>
                    </td>
                    <td>{m.committed ? "yes" : "not yet"}</td>
                    <td className="num" data-testid="score">
                      {m.revealed ? `${m.score} / 10000` : "hidden"}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {view.quality.resolved && (
            <p>
              Median {view.quality.median}: {view.quality.accepted ? "accepted" : "refused"}.
            </p>
          )}
        </div>
      )}
      {view.mode === 3 && !view.quality && <p>Waiting for the operator&apos;s response.</p>}
      {view.status === "Finalized" && <p className="ok">Finalized: verified and paid.</p>}
    </>
  );
}

function OptimisticPanel({
  view,
  chainLocal,
  moving,
  onMoveClock,
}: {
  view: RequestView;
  chainLocal: boolean;
  moving: boolean;
  onMoveClock: (seconds: number) => void;
}) {
  const o = view.optimistic!;
  const left = o.challengeDeadline - view.activeNow;
  const open = left >= 0 && !o.operatorLost;
  return (
    <div data-testid="optimistic-state">
      {o.proposed?.label !== undefined && <p>Proposed label {o.proposed.label}, standing unless challenged.</p>}
      <p>
        Challenge window {open ? "closes" : "closed"} <strong data-testid="countdown">{countdown(left)}</strong> (chain
        time)
      </p>
      <p>
        {o.challengers.length === 0
          ? "No challenge so far."
          : `${o.challengers.length} challenge${o.challengers.length > 1 ? "s" : ""}, ${o.openGames} still open.`}{" "}
        {o.challengers.map((c) => (
          <a key={c} href={`#/dispute/${view.requestId}/${c}`}>
            dispute with {shortAddress(c)}
          </a>
        ))}
      </p>
      {chainLocal && open && o.openGames === 0 && view.status === "Submitted" && (
        <button type="button" disabled={moving} onClick={() => onMoveClock(left + 1)} data-testid="move-clock">
          Local chain: move the clock past the window
        </button>
      )}
    </div>
  );
}

/** Every request, newest first, with its status. */
export function RequestsPage({ chain }: { chain: Chain }) {
  const [rows, setRows] = useState<RequestView[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    (async () => {
      const ids = (await chain.requestIds()).slice(0, 50);
      setRows(await Promise.all(ids.map((id) => chain.request(id))));
    })().catch((e: unknown) => setProblem(message(e)));
  }, [chain]);
  if (problem) return <Alert kind="error">{problem}</Alert>;
  if (rows === null) return <Loading what="the requests" />;
  return (
    <section aria-labelledby="requests-title">
      <h1 id="requests-title">Requests</h1>
      {rows.length === 0 && <p>No request yet.</p>}
      <div className="table-scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">id</th>
              <th scope="col">model</th>
              <th scope="col">mode</th>
              <th scope="col">status</th>
              <th scope="col">requester</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.requestId.toString()}>
                <td>
                  <a href={`#/request-status/${r.requestId}`}>request {r.requestId.toString()}</a>
                </td>
                <td>{r.modelId.toString()}</td>
                <td>{modeName(r.mode)}</td>
                <td>{r.steps.some((s) => s.event === "RequestRejected") ? "Rejected" : r.status}</td>
                <td>
                  <code>{shortAddress(r.requester)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
