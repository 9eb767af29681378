// Pay for an inference: the model and mode, an input form that fits the model (a canvas for the digits
// models, named fields for tabular ones, a JSON box or file for any), the quote with the expected gas, and
// the payment through the connected wallet. Everything that can be checked is checked before the wallet is
// asked to sign: the wallet's network, the input against the model's interface (the same quantizeFloatInput
// as the CLI), the fee the user allows against the quote, the balance.
import { useCallback, useEffect, useMemo, useState } from "react";
import { ZeroAddress, parseUnits, toUtf8Bytes } from "ethers";
import type { Chain, ModelRow, PaymentToken } from "../chain.js";
import { ETH, modeName } from "../chain.js";
import { Alert, Loading } from "../components/common.js";
import { DigitCanvas } from "../components/DigitCanvas.js";
import { amount, gas, message } from "../format.js";
import { inputName } from "../model-info.js";
import { isRejection, walletChainId, switchChain, type Wallet } from "../wallet.js";
import { inputFloatRange, quantizeFloatInput } from "../../../verifier-gen/src/interface.js";
import { takesDigitImage } from "../../../verifier-gen/src/digits.js";
import type { ModelBuild } from "../../../operator/src/client-core.js";

type Form = "digit" | "fields" | "json" | "prompt";

interface Quote {
  price: bigint;
  fee: bigint;
  total: bigint;
  createGas: bigint | null;
  measured: { gas: Record<string, number>; basis: string } | null;
}

/** The input as the user gave it: float values, or a prompt's text (quality mode). */
type Given = { values: number[] } | { text: string } | { error: string } | null;

export function RequestPage({
  chain,
  models,
  modelId,
  wallet,
}: {
  chain: Chain;
  models: ModelRow[] | null;
  modelId: string | undefined;
  wallet: Wallet | null;
}) {
  const model = models?.find((m) => m.modelId.toString() === modelId) ?? models?.[0];
  const build = model !== undefined && "interface" in model.build ? model.build : undefined;
  const [mode, setMode] = useState<number | null>(null);
  const [tokenAddress, setTokenAddress] = useState<string>(ZeroAddress);
  const [form, setForm] = useState<Form>("json");
  const [given, setGiven] = useState<Given>(null);
  const [quote, setQuote] = useState<Quote | null>(null);
  const [maxFee, setMaxFee] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [wrongChain, setWrongChain] = useState(false);
  const [preset, setPreset] = useState<{ values: number[] } | null>(null);

  // Defaults when the model changes: its first mode, ETH, the form that fits it.
  useEffect(() => {
    if (model === undefined) return;
    setMode(model.modes[0] ?? null);
    setTokenAddress(model.prices[0]?.token.address ?? ZeroAddress);
    setForm(
      build === undefined
        ? "prompt"
        : takesDigitImage(build.interface, build.name)
          ? "digit"
          : build.interface.input.shape.reduce((a, b) => a * b, 1) <= 32
            ? "fields"
            : "json",
    );
    setGiven(null);
    setPreset(null);
    setProblem(null);
  }, [model, build]);

  const token: PaymentToken = model?.prices.find((p) => p.token.address === tokenAddress)?.token ?? ETH;
  const refreshQuote = useCallback(async () => {
    if (model === undefined || mode === null) return;
    const q = await chain.quote(model.modelId, mode, token.address);
    const measured = await chain.measuredGas(model.name, mode);
    setQuote({ ...q, createGas: null, measured });
    setMaxFee((current) => (current === "" ? amountInput(q.total, token) : current));
  }, [chain, model, mode, token]);
  useEffect(() => {
    setMaxFee("");
    setQuote(null);
    refreshQuote().catch((e: unknown) => setProblem(message(e)));
  }, [refreshQuote]);

  // The requester's own gas: the createRequest the client will send, estimated for this account and input.
  const input = useMemo(() => encodeGiven(build, given), [build, given]);
  useEffect(() => {
    if (wallet === null || quote === null || model === undefined || mode === null || !("bytes" in input)) return;
    let live = true;
    chain
      .estimateCreateGas(
        wallet.address,
        { modelId: model.modelId, mode, input: input.bytes, token: token.address, deadlineSeconds: 3600 },
        quote.total,
      )
      .then(
        (g) => live && setQuote((q) => (q === null ? q : { ...q, createGas: g })),
        () => live && setQuote((q) => (q === null ? q : { ...q, createGas: null })),
      );
    return () => {
      live = false;
    };
  }, [chain, wallet, quote?.total, model, mode, input, token.address]);

  const onPixels = useCallback((pixels: number[] | null) => setGiven(pixels === null ? null : { values: pixels }), []);

  if (models === null) return <Loading what="the models" />;
  if (model === undefined) return <Alert kind="error">No model is registered.</Alert>;
  // A model whose build cannot be checked against its modelHash has no interface to encode an input with.
  const unusable = "error" in model.build && model.modes.some((x) => x !== 3) ? model.build.error : null;
  if (unusable !== null) {
    return (
      <section aria-labelledby="request-title">
        <h1 id="request-title">Request an inference</h1>
        <ModelChoice models={models} model={model} />
        <Alert kind="error" testId="request-error">
          Model #{model.modelId.toString()} cannot be paid for here: its build is not the one registered on chain (
          {unusable}). Nothing can be sent.
        </Alert>
      </section>
    );
  }

  const pay = async () => {
    setProblem(null);
    setWrongChain(false);
    // 1. a wallet, on the market's chain
    if (wallet === null) return setProblem("Connect a wallet first (or, on a local chain, a development account).");
    let walletChain: bigint;
    try {
      walletChain = await walletChainId(wallet);
    } catch (e) {
      return setProblem(`Cannot read your wallet's network (${message(e)}); nothing was sent.`);
    }
    if (walletChain !== chain.chainId) {
      setWrongChain(true);
      return setProblem(
        `Your wallet is on chain ${walletChain}, but this market is on chain ${chain.chainId}. Switch the wallet's network; nothing was sent.`,
      );
    }
    if (mode === null || !model.modes.includes(mode)) return setProblem("Choose a mode the model is served in.");
    // 2. the input, against the model's interface
    if (!("bytes" in input)) return setProblem(`${input.error} Nothing was sent.`);
    // 3. the fee the user allows, against the quote read now
    let allowed: bigint;
    try {
      allowed = parseUnits(maxFee.trim() || "0", token.decimals);
    } catch {
      return setProblem(`"${maxFee}" is not an amount of ${token.symbol}. Nothing was sent.`);
    }
    const q = await chain.quote(model.modelId, mode, token.address);
    if (allowed < q.total) {
      return setProblem(
        `The fee you allow (${amount(allowed, token)}) is below what this request costs now (${amount(q.total, token)}: price ${amount(q.price, token)} + verification fee ${amount(q.fee, token)}). Raise it to pay; nothing was sent.`,
      );
    }
    const funds = await chain.funds(wallet.address, token);
    if (funds.balance < q.total) {
      return setProblem(
        `Your balance (${amount(funds.balance, token)}) is below the fee (${amount(q.total, token)}). Nothing was sent.`,
      );
    }
    // 4. sign: the client approves an ERC-20 when needed, pins the terms, re-checks the quote against the cap
    try {
      setBusy(
        token.address === ZeroAddress || funds.allowance >= q.total
          ? "Waiting for your signature…"
          : "Approve the token first, then the request…",
      );
      let approval: string | undefined;
      const created = await chain.payingClient(wallet.signer).request(
        {
          modelId: model.modelId,
          mode,
          input: input.bytes,
          token: token.address,
          deadlineSeconds: 3600,
          maxTotal: allowed,
        },
        (step, hash) => {
          if (step === "approve") {
            approval = hash;
            setBusy(`Approval sent (${hash.slice(0, 10)}…); now sign the request…`);
          } else setBusy(`Request sent (${hash.slice(0, 10)}…); waiting for it to be mined…`);
        },
      );
      location.hash = `#/request-status/${created.requestId}`;
      void approval;
    } catch (e) {
      setProblem(
        isRejection(e)
          ? "You declined the signature in your wallet: nothing was sent."
          : `The payment failed: ${message(e)}`,
      );
    } finally {
      setBusy(null);
    }
  };

  const forms: [Form, string][] =
    build === undefined
      ? [["prompt", "Prompt"]]
      : [
          ...(takesDigitImage(build.interface, build.name) ? ([["digit", "Draw"]] as [Form, string][]) : []),
          ...(build.interface.input.shape.reduce((a, b) => a * b, 1) <= 32
            ? ([["fields", "Fields"]] as [Form, string][])
            : []),
          ["json", "JSON or file"],
        ];

  return (
    <section aria-labelledby="request-title">
      <h1 id="request-title">Request an inference</h1>
      <form
        className="request"
        onSubmit={(e) => {
          e.preventDefault();
          void pay();
        }}
        noValidate
      >
        <ModelChoice models={models} model={model} />
        <fieldset className="row">
          <legend>Verification mode</legend>
          {model.modes.map((x) => (
            <label key={x} className="choice">
              <input type="radio" name="mode" value={x} checked={mode === x} onChange={() => setMode(x)} />{" "}
              {modeName(x)}
            </label>
          ))}
        </fieldset>
        {model.prices.length > 1 && (
          <div className="row">
            <label htmlFor="token">Pay in</label>
            <select id="token" value={tokenAddress} onChange={(e) => setTokenAddress(e.target.value)}>
              {model.prices.map((p) => (
                <option key={p.token.address} value={p.token.address}>
                  {p.token.symbol}
                </option>
              ))}
            </select>
          </div>
        )}

        <fieldset className="input-box">
          <legend>Input</legend>
          {forms.length > 1 && (
            <div className="tabs" role="group" aria-label="input form">
              {forms.map(([f, label]) => (
                <button key={f} type="button" aria-pressed={form === f} onClick={() => (setForm(f), setGiven(null))}>
                  {label}
                </button>
              ))}
            </div>
          )}
          {form === "digit" && <DigitCanvas onPixels={onPixels} />}
          {form === "fields" && build && <FieldsForm build={build} onValues={setGiven} preset={preset} />}
          {form === "json" && build && <JsonBox build={build} onValues={setGiven} preset={preset} />}
          {form === "prompt" && <PromptBox onText={(text) => setGiven(text === "" ? null : { text })} />}
          {build && form !== "prompt" && (
            <Examples
              name={build.name}
              onValues={(values) => {
                // a drawing cannot show given values: the example goes to the JSON box
                if (form === "digit") setForm("json");
                setPreset({ values });
              }}
            />
          )}
          {"q" in input && input.q !== undefined && (
            <p className="muted" data-testid="quantized">
              Quantized for the chain: {input.q.length} values, e.g. [{input.q.slice(0, 8).join(", ")}
              {input.q.length > 8 ? ", …" : ""}]
            </p>
          )}
        </fieldset>

        <section className="quote" aria-labelledby="quote-title" aria-live="polite">
          <h2 id="quote-title">Quote</h2>
          {quote === null ? (
            <Loading what="the quote" />
          ) : (
            <dl data-testid="quote">
              <dt>Operator price</dt>
              <dd>{amount(quote.price, token)}</dd>
              <dt>Verification fee</dt>
              <dd>{amount(quote.fee, token)}</dd>
              <dt>Total</dt>
              <dd data-testid="quote-total">{amount(quote.total, token)}</dd>
              <dt>Your transaction</dt>
              <dd data-testid="create-gas">
                {quote.createGas === null
                  ? "gas estimated once a wallet and a valid input are given"
                  : `about ${gas(quote.createGas)} gas (createRequest)`}
                {token.address !== ZeroAddress && ", plus an approval when the allowance is short"}
              </dd>
              {quote.measured && (
                <>
                  <dt>Whole request</dt>
                  <dd>
                    {Object.entries(quote.measured.gas)
                      .map(([k, v]) => `${k} ${gas(v)}`)
                      .join(" · ")}{" "}
                    <span className="muted">({quote.measured.basis}; the operator pays all but create)</span>
                  </dd>
                </>
              )}
            </dl>
          )}
          <div className="row">
            <label htmlFor="max-fee">The most you pay ({token.symbol})</label>
            <input
              id="max-fee"
              inputMode="decimal"
              value={maxFee}
              onChange={(e) => setMaxFee(e.target.value)}
              aria-describedby="max-fee-help"
            />
            <span id="max-fee-help" className="muted">
              Refused before signing when below the quote.
            </span>
          </div>
        </section>

        {problem && (
          <Alert kind="error" testId="request-error">
            {problem}
            {wrongChain && window.ethereum && (
              <>
                {" "}
                <button type="button" onClick={() => void switchChain(chain.chainId)}>
                  Switch to chain {chain.chainId.toString()}
                </button>
              </>
            )}
          </Alert>
        )}
        {busy && <Alert kind="info">{busy}</Alert>}
        <button type="submit" className="primary" disabled={busy !== null} data-testid="pay">
          Pay {quote ? amount(quote.total, token) : ""} and request
        </button>
      </form>
    </section>
  );
}

function amountInput(wei: bigint, token: PaymentToken): string {
  return amount(wei, token).replace(` ${token.symbol}`, "");
}

function ModelChoice({ models, model }: { models: ModelRow[]; model: ModelRow }) {
  return (
    <div className="row">
      <label htmlFor="model">Model</label>
      <select
        id="model"
        value={model.modelId.toString()}
        onChange={(e) => (location.hash = `#/request/${e.target.value}`)}
      >
        {models.map((m) => (
          <option key={m.modelId.toString()} value={m.modelId.toString()}>
            #{m.modelId.toString()} {m.name} ({m.modes.map(modeName).join(", ")})
          </option>
        ))}
      </select>
    </div>
  );
}

/** The given input as request bytes through the model interface, or why it cannot be. */
function encodeGiven(
  build: ModelBuild | undefined,
  given: Given,
): { bytes: Uint8Array; q?: number[] } | { error: string } {
  if (given === null) return { error: "Give an input first." };
  if ("error" in given) return { error: given.error };
  if ("text" in given) return { bytes: toUtf8Bytes(given.text) };
  if (build === undefined) return { error: "This model takes a text prompt." };
  try {
    const { q, bytes } = quantizeFloatInput(build.interface, given.values);
    return { bytes, q };
  } catch (e) {
    return { error: `${message(e)}.` };
  }
}

interface InputFormProps {
  build: ModelBuild;
  onValues: (g: Given) => void;
  /** Values to fill the form with (a chosen example). */
  preset: { values: number[] } | null;
}

function FieldsForm({ build, onValues, preset }: InputFormProps) {
  const n = build.interface.input.shape.reduce((a, b) => a * b, 1);
  const { min, max } = inputFloatRange(build.interface);
  const [text, setText] = useState<string[]>(() => new Array<string>(n).fill(""));
  useEffect(() => {
    const values = text.map((t) => (t.trim() === "" ? NaN : Number(t)));
    const missing = values.findIndex((v) => Number.isNaN(v));
    onValues(
      missing >= 0 ? { error: `Value ${inputName(build.manifest, missing)} is missing or not a number.` } : { values },
    );
  }, [text, build, onValues]);
  useEffect(
    () => setText(preset?.values.length === n ? preset.values.map(String) : new Array<string>(n).fill("")),
    [n, build, preset],
  );
  return (
    <div className="fields">
      {text.map((t, i) => (
        <div key={i} className="field">
          <label htmlFor={`x${i}`}>{inputName(build.manifest, i)}</label>
          <input
            id={`x${i}`}
            data-testid={`field-${i}`}
            inputMode="decimal"
            value={t}
            aria-describedby="fields-range"
            onChange={(e) => setText((old) => old.map((o, k) => (k === i ? e.target.value : o)))}
          />
        </div>
      ))}
      <p id="fields-range" className="muted">
        Each value in [{min.toPrecision(4)}, {max.toPrecision(4)}] (the model&apos;s range; further would be clipped).
      </p>
    </div>
  );
}

function JsonBox({ build, onValues, preset }: InputFormProps) {
  const n = build.interface.input.shape.reduce((a, b) => a * b, 1);
  const [text, setText] = useState("");
  useEffect(() => setText(preset === null ? "" : JSON.stringify(preset.values)), [preset]);
  useEffect(() => {
    if (text.trim() === "") return onValues(null);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      return onValues({ error: `The input is not JSON: ${message(e)}.` });
    }
    const values = Array.isArray(json) ? json : (json as { input?: unknown })?.input;
    if (!Array.isArray(values) || !values.every((v) => typeof v === "number")) {
      return onValues({ error: 'The input must be an array of numbers, or {"input": [numbers]}.' });
    }
    onValues({ values: values as number[] });
  }, [text, onValues]);
  return (
    <div className="json">
      <label htmlFor="json-input">
        {n} numbers in the model&apos;s own input space, as a JSON array (shape [
        {build.interface.input.shape.join(", ")}], flattened)
      </label>
      <textarea
        id="json-input"
        data-testid="json-input"
        rows={4}
        value={text}
        onChange={(e) => setText(e.target.value)}
        spellCheck={false}
      />
      <label htmlFor="json-file">or a JSON file</label>{" "}
      <input
        id="json-file"
        type="file"
        accept="application/json,.json"
        onChange={(e) => {
          const file = e.target.files?.[0];
          if (file) void file.text().then(setText);
        }}
      />
    </div>
  );
}

function PromptBox({ onText }: { onText: (text: string) => void }) {
  return (
    <div className="json">
      <label htmlFor="prompt">Prompt (the operator&apos;s answer is scored by a committee of validators)</label>
      <textarea
        id="prompt"
        data-testid="prompt"
        rows={3}
        onChange={(e) => onText(e.target.value)}
        placeholder="what is 13 + 9 ?"
      />
    </div>
  );
}

/** Held-out examples of the model's dataset, for keyboard users and a quick try. */
function Examples({ name, onValues }: { name: string; onValues: (values: number[]) => void }) {
  const [examples, setExamples] = useState<{ inputs: number[][]; labels?: number[] } | null>(null);
  useEffect(() => {
    fetch(`/api/examples/${encodeURIComponent(name)}`)
      .then((r) => (r.ok ? (r.json() as Promise<{ inputs: number[][]; labels?: number[] }>) : null))
      .then(setExamples, () => setExamples(null));
  }, [name]);
  if (examples === null || examples.inputs.length === 0) return null;
  return (
    <div className="row">
      <label htmlFor="example">Held-out example</label>
      <select
        id="example"
        data-testid="example"
        defaultValue=""
        onChange={(e) => {
          const i = Number(e.target.value);
          const row = examples.inputs[i];
          if (row === undefined) return;
          onValues(row);
        }}
      >
        <option value="">choose one…</option>
        {examples.inputs.map((_, i) => (
          <option key={i} value={i}>
            example {i + 1}
            {examples.labels?.[i] !== undefined ? ` (dataset label ${examples.labels[i]})` : ""}
          </option>
        ))}
      </select>
    </div>
  );
}
