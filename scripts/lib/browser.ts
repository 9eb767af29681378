/**
 * Headless Chromium for the web app's browser test and screenshots: Debian's `chromium` package driven by
 * puppeteer-core (which downloads no browser), and a scriptable EIP-1193 wallet injected into the page as
 * `window.ethereum`. The wallet forwards every call to the node through the page's own /rpc, where the
 * node signs for its unlocked development account, so a payment is a real transaction; the test can make it
 * report another chain or decline to sign (EIP-1193 error 4001), as a user's wallet would.
 */
import { existsSync } from "node:fs";
import puppeteer, { type Browser, type Page } from "puppeteer-core";

/** Where Debian's chromium package puts the browser (CHROMIUM_PATH overrides). */
export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"];
  const found = candidates.find((p) => p !== undefined && p !== "" && existsSync(p));
  if (found === undefined) {
    throw new Error(
      "no Chromium found: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH",
    );
  }
  return found;
}

export function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
}

/** What the test steers the injected wallet with (window.__testWallet). */
export interface TestWalletControl {
  account: string;
  /** Report this chain id instead of the node's (a wallet on the wrong network). */
  chainId: string | null;
  /** Decline eth_sendTransaction like a user pressing "Reject" (code 4001). */
  reject: boolean;
  /** Every method the page called, in order. */
  calls: string[];
}

/**
 * The wallet's code, as the page runs it. A string, not a function: tsx's transform would add helpers
 * (__name) the page does not have.
 */
const TEST_WALLET = String.raw`
(() => {
  const control = { account: ACCOUNT, chainId: null, reject: false, calls: [] };
  window.__testWallet = control;
  let id = 0;
  async function forward(method, params) {
    const response = await fetch("/rpc", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }),
    });
    const reply = await response.json();
    if (reply.error) throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
    return reply.result;
  }
  window.ethereum = {
    isTestWallet: true,
    async request({ method, params }) {
      control.calls.push(method);
      switch (method) {
        case "eth_requestAccounts":
        case "eth_accounts":
          return [control.account];
        case "eth_chainId":
          return control.chainId ?? forward(method, []);
        case "net_version":
          return control.chainId === null ? forward(method, []) : String(BigInt(control.chainId));
        case "wallet_switchEthereumChain":
          control.chainId = null;
          return null;
        case "eth_sendTransaction":
          if (control.reject) throw Object.assign(new Error("User rejected the request."), { code: 4001 });
          return forward(method, params ?? []);
        default:
          return forward(method, params ?? []);
      }
    },
    on() {},
    removeListener() {},
  };
})();
`;

/** Installs the test wallet in every document `page` loads, signing as `account`. */
export async function injectTestWallet(page: Page, account: string): Promise<void> {
  await page.evaluateOnNewDocument(TEST_WALLET.replace("ACCOUNT", JSON.stringify(account)));
}
