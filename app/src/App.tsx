// The page: a header with the wallet, and four views chosen by the URL's hash (links work without a server
// route): #/models, #/request/<modelId>, #/requests and #/request-status/<id>, #/operators and
// #/dispute/<requestId>/<challenger>.
import { useCallback, useEffect, useState } from "react";
import { Chain, type ModelRow } from "./chain.js";
import { Alert, Loading } from "./components/common.js";
import { message, shortAddress } from "./format.js";
import { ModelsPage } from "./pages/ModelsPage.js";
import { OperatorsPage, DisputePage } from "./pages/OperatorsPage.js";
import { RequestPage } from "./pages/RequestPage.js";
import { RequestsPage, StatusPage } from "./pages/StatusPage.js";
import {
  connectDevelopment,
  connectInjected,
  developmentAccounts,
  hasInjectedWallet,
  isRejection,
  type Wallet,
} from "./wallet.js";

function useHash(): string[] {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return hash.replace(/^#\/?/, "").split("/").filter(Boolean);
}

export function App() {
  const [chain, setChain] = useState<Chain | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [wallet, setWallet] = useState<Wallet | null>(null);
  const [models, setModels] = useState<ModelRow[] | null>(null);
  const route = useHash();

  useEffect(() => {
    Chain.open().then(setChain, (e: unknown) => setError(message(e)));
  }, []);
  const reloadModels = useCallback(() => {
    if (chain) chain.models().then(setModels, (e: unknown) => setError(message(e)));
  }, [chain]);
  useEffect(reloadModels, [reloadModels]);

  const [page, ...args] = route.length === 0 ? ["models"] : route;
  const nav = [
    ["models", "Models"],
    ["request", "Request"],
    ["requests", "Requests"],
    ["operators", "Operators & disputes"],
  ] as const;
  const current = page === "request-status" ? "requests" : page === "dispute" ? "operators" : page;

  let body;
  if (error !== null) body = <Alert kind="error">Cannot reach the market: {error}</Alert>;
  else if (chain === null) body = <Loading what="the deployment" />;
  else if (page === "models") body = <ModelsPage models={models} />;
  else if (page === "request") body = <RequestPage chain={chain} models={models} modelId={args[0]} wallet={wallet} />;
  else if (page === "requests") body = <RequestsPage chain={chain} />;
  else if (page === "request-status" && args[0] !== undefined)
    body = <StatusPage chain={chain} models={models} requestId={BigInt(args[0])} />;
  else if (page === "operators") body = <OperatorsPage chain={chain} />;
  else if (page === "dispute" && args[0] !== undefined && args[1] !== undefined)
    body = <DisputePage chain={chain} models={models} requestId={BigInt(args[0])} challenger={args[1]} />;
  else body = <Alert kind="error">No such page: #{route.join("/")}</Alert>;

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <div className="brand">
          <span className="logo" aria-hidden="true">
            ◆
          </span>{" "}
          veriml <span className="muted">verified inference</span>
        </div>
        <nav aria-label="main">
          {nav.map(([id, label]) => (
            <a key={id} href={`#/${id}`} aria-current={current === id ? "page" : undefined}>
              {label}
            </a>
          ))}
        </nav>
        {chain && <WalletPanel chain={chain} wallet={wallet} onWallet={setWallet} />}
      </header>
      <main id="main" tabIndex={-1}>
        {body}
      </main>
      <footer className="muted">
        {chain ? (
          <>
            chain {chain.chainId.toString()} · market <code>{chain.suite.market}</code> · deployment{" "}
            <code>{chain.config.deploymentId}</code>
          </>
        ) : null}
      </footer>
    </>
  );
}

function WalletPanel({
  chain,
  wallet,
  onWallet,
}: {
  chain: Chain;
  wallet: Wallet | null;
  onWallet: (w: Wallet | null) => void;
}) {
  const [accounts, setAccounts] = useState<string[]>([]);
  const [choice, setChoice] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    if (!chain.config.local) return;
    developmentAccounts(chain.provider).then(
      (a) => {
        setAccounts(a);
        // Hardhat's account 2 is the demos' user; the first ones deploy and operate.
        setChoice(a[2] ?? a[0] ?? "");
      },
      () => setAccounts([]),
    );
  }, [chain]);
  useEffect(() => {
    const eth = window.ethereum;
    if (wallet?.kind !== "injected" || eth?.on === undefined) return;
    // A wallet that switches account or network: connect again, so every check sees the new one.
    const again = () => connectInjected().then(onWallet, () => onWallet(null));
    eth.on("chainChanged", again);
    eth.on("accountsChanged", again);
  }, [wallet, onWallet]);

  const useDevelopment = async () => {
    setProblem(null);
    onWallet(await connectDevelopment(chain.provider, choice));
  };
  const useInjected = async () => {
    setProblem(null);
    try {
      onWallet(await connectInjected());
    } catch (e) {
      setProblem(isRejection(e) ? "You declined the connection in your wallet." : message(e));
    }
  };
  return (
    <section className="wallet" aria-label="wallet">
      {wallet ? (
        <p data-testid="wallet-address">
          {wallet.kind === "development" ? "Development account" : "Wallet"}{" "}
          <code title={wallet.address}>{shortAddress(wallet.address)}</code>
          {wallet.chainId !== chain.chainId && (
            <strong className="warn">
              {" "}
              on chain {wallet.chainId.toString()}, not {chain.chainId.toString()}
            </strong>
          )}{" "}
          <button type="button" onClick={() => onWallet(null)}>
            Disconnect
          </button>
        </p>
      ) : (
        <div className="wallet-choices">
          {hasInjectedWallet() && (
            <button type="button" onClick={() => void useInjected()} data-testid="connect-injected">
              Connect browser wallet
            </button>
          )}
          {chain.config.local && accounts.length > 0 && (
            <span className="dev">
              <label htmlFor="dev-account">Local chain: sign as</label>{" "}
              <select id="dev-account" value={choice} onChange={(e) => setChoice(e.target.value)}>
                {accounts.map((a, i) => (
                  <option key={a} value={a}>
                    #{i} {shortAddress(a)}
                  </option>
                ))}
              </select>{" "}
              <button type="button" onClick={() => void useDevelopment()} data-testid="connect-development">
                Use development account
              </button>
            </span>
          )}
          {!hasInjectedWallet() && !chain.config.local && <span>Install a browser wallet to pay.</span>}
        </div>
      )}
      {problem && <Alert kind="error">{problem}</Alert>}
    </section>
  );
}
