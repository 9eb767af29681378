// Operators and disputes: every staker's stake, locks, earnings and slashes; every optimistic dispute game,
// and one game's moves as a timeline down to the one-step the chain computed.
import { useEffect, useState } from "react";
import type { Chain, DisputeView, ModelRow, OperatorRow } from "../chain.js";
import { ETH } from "../chain.js";
import { Alert, Hash, Loading } from "../components/common.js";
import { amount, gas, message, shortAddress, time } from "../format.js";
import type { ModelBuild } from "../../../operator/src/client-core.js";

export function OperatorsPage({ chain }: { chain: Chain }) {
  const [rows, setRows] = useState<OperatorRow[] | null>(null);
  const [disputes, setDisputes] = useState<Awaited<ReturnType<Chain["disputes"]>> | null>(null);
  const [tokens, setTokens] = useState<Awaited<ReturnType<Chain["tokens"]>>>([ETH]);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    const load = () =>
      Promise.all([chain.operators(), chain.disputes(), chain.tokens()]).then(
        ([o, d, t]) => live && (setRows(o), setDisputes(d), setTokens(t)),
        (e: unknown) => live && setProblem(message(e)),
      );
    void load();
    const timer = setInterval(() => void load(), 3000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [chain]);
  if (problem) return <Alert kind="error">{problem}</Alert>;
  if (rows === null || disputes === null) return <Loading what="the operators" />;
  const symbolOf = (token: string) => tokens.find((t) => t.address === token) ?? ETH;
  return (
    <section aria-labelledby="operators-title">
      <h1 id="operators-title">Operators &amp; disputes</h1>
      <h2>Stakers</h2>
      <div className="table-scroll">
        <table data-testid="operators">
          <thead>
            <tr>
              <th scope="col">account</th>
              <th scope="col">stake</th>
              <th scope="col">locked</th>
              <th scope="col">pool bonds</th>
              <th scope="col">serves</th>
              <th scope="col">settled</th>
              <th scope="col">earned</th>
              <th scope="col">slashed</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.address}>
                <td>
                  <Hash value={r.address} label="account" />
                </td>
                <td className="num">{amount(r.total, ETH)}</td>
                <td className="num">{amount(r.locked, ETH)}</td>
                <td className="num">{amount(r.bonded, ETH)}</td>
                <td>
                  {r.serving.length === 0
                    ? "nothing"
                    : r.serving.map((s) => `#${s.modelId} ${s.role === "operator" ? "op" : "validator"}`).join(", ")}
                </td>
                <td className="num">{r.settled}</td>
                <td className="num">
                  {r.earned.size === 0 ? "–" : [...r.earned].map(([t, v]) => amount(v, symbolOf(t))).join(", ")}
                </td>
                <td className={r.slashed > 0n ? "num bad" : "num"} data-testid={r.slashed > 0n ? "slashed" : undefined}>
                  {r.slashed > 0n
                    ? `${amount(r.slashed, ETH)} (${r.slashes.map((s) => (s.requestId === undefined ? "duty" : `request ${s.requestId}`)).join(", ")})`
                    : "–"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="muted small">
        Earned: the operator&apos;s share of requests it settled (withdrawable from the market). Slashes: taken from the
        stake a request or duty locked, for a proven cheat, a missed window or an outlying score.
      </p>

      <h2>Optimistic disputes</h2>
      {disputes.length === 0 ? (
        <p>No optimistic result has been challenged.</p>
      ) : (
        <ul className="disputes" data-testid="disputes">
          {disputes.map((d) => (
            <li key={`${d.requestId}-${d.challenger}`}>
              <a href={`#/dispute/${d.requestId}/${d.challenger}`}>
                request {d.requestId.toString()}: {shortAddress(d.challenger)} challenged {shortAddress(d.operator)}
              </a>{" "}
              <span className={`badge outcome-${d.outcome}`}>{d.outcome}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function DisputePage({
  chain,
  models,
  requestId,
  challenger,
}: {
  chain: Chain;
  models: ModelRow[] | null;
  requestId: bigint;
  challenger: string;
}) {
  const [view, setView] = useState<DisputeView | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    const load = async () => {
      const first = await chain.dispute(requestId, challenger);
      const model = models?.find((m) => m.modelId === first.modelId);
      const build: ModelBuild | undefined = model && "interface" in model.build ? model.build : undefined;
      return build === undefined ? first : chain.dispute(requestId, challenger, build);
    };
    const tick = () =>
      load().then(
        (v) => live && setView(v),
        (e: unknown) => live && setProblem(message(e)),
      );
    void tick();
    const timer = setInterval(() => void tick(), 2000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [chain, models, requestId, challenger]);
  if (problem) return <Alert kind="error">{problem}</Alert>;
  if (view === null) return <Loading what="the dispute" />;
  return (
    <section aria-labelledby="dispute-title">
      <h1 id="dispute-title">
        Dispute over request {requestId.toString()}{" "}
        <span className={`badge outcome-${view.outcome}`} data-testid="dispute-outcome">
          {view.outcome}
        </span>
      </h1>
      <p>
        Operator <Hash value={view.operator} label="operator" /> against challenger{" "}
        <Hash value={view.challenger} label="challenger" />, bond {amount(view.bond, ETH)}. Phase {view.phase}
        {view.reason !== "None" ? `, ended by ${view.reason}` : ""}. {view.gameMoves} moves, {gas(view.totalGas)} gas in{" "}
        {new Set(view.moves.map((m) => m.tx)).size} transactions.{" "}
        <a href={`#/request-status/${requestId}`}>the request</a>
      </p>
      <p className="muted">
        An 8-ary dissection: each round the operator reveals 8 nodes of the disputed subtree of its execution trace and
        the challenger picks the wrong one, first down the trace tree to one tensor, then down that tensor to one
        element, which the chain recomputes itself (the one-step).
      </p>
      {view.oneStep && (
        <Alert kind={view.oneStep.operatorCorrect ? "info" : "ok"} testId="one-step">
          One-step: the chain recomputed element {view.oneStep.element} of tensor {view.oneStep.tensor}
          {view.tensor ? ` (${view.tensor.name})` : ""} = {view.oneStep.computed.toString()};{" "}
          {view.oneStep.operatorCorrect
            ? "the operator's value was right."
            : "the operator's value was wrong: it loses."}
        </Alert>
      )}
      <ol className="timeline" data-testid="timeline">
        {view.moves.map((m, i) => (
          <li key={`${m.tx}-${i}`} className={`move move-${m.kind}`}>
            <div className="move-head">
              <strong>{m.label}</strong> <span className="muted">{time(m.at)}</span>
            </div>
            {m.detail && <div className="muted small wrap">{m.detail}</div>}
            <div className="small">
              <Hash value={m.tx} label="transaction" /> · {gas(m.gasUsed)} gas · by <code>{shortAddress(m.by)}</code>
            </div>
          </li>
        ))}
      </ol>
    </section>
  );
}
