/// <reference lib="dom" />
/**
 * Screenshots of every page of the web app (docs/app/*.png, shown in the README), made with the same headless
 * Chromium as the browser test against the same local stack: requests are paid from the page in zk (a drawn
 * digit, its proof re-checked), optimistic and quality mode, then each view is captured, and the models page
 * once more on a phone-sized screen.
 *
 *   npx hardhat run scripts/app-screenshots.ts
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import type { Page } from "puppeteer-core";
import { devAccount } from "./lib/accounts.js";
import { ACCOUNTS, startAppStack } from "./lib/app-stack.js";
import { injectTestWallet, launchChromium } from "./lib/browser.js";

const OUT = "docs/app";
const workDir = await mkdtemp(path.join(tmpdir(), "veriml-shots-"));
const stack = await startAppStack({ deploymentId: "app-screenshots", workDir, port: 0, log: pino({ level: "warn" }) });
const browser = await launchChromium();
try {
  await mkdir(OUT, { recursive: true });
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  await injectTestWallet(page, devAccount(ACCOUNTS.user, stack.provider).address);
  const open = async (hash: string) => {
    await page.goto("about:blank");
    await page.goto(`${stack.url}${hash}`, { waitUntil: "load" });
    await page.waitForSelector("main h1", { timeout: 60_000 });
  };
  const waitFor = (selector: string, pattern: RegExp, timeout = 180_000) =>
    page.waitForFunction(
      (s: string, p: string) => new RegExp(p).test((document.querySelector(s) as HTMLElement | null)?.innerText ?? ""),
      { timeout },
      selector,
      pattern.source,
    );
  const shot = async (name: string, p: Page = page) => {
    await new Promise((r) => setTimeout(r, 600));
    await p.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
    console.log(`${OUT}/${name}.png`);
  };
  const connect = async () => {
    await page.click('[data-testid="connect-development"]');
    await page.waitForSelector('[data-testid="wallet-address"]');
  };
  const requestPage = async (modelId: bigint, mode: number) => {
    await open(`#/request/${modelId}`);
    await page.waitForSelector(`input[name="mode"][value="${mode}"]`);
    await page.click(`input[name="mode"][value="${mode}"]`);
    await waitFor('[data-testid="quote-total"]', /ETH/);
    await connect();
  };
  const pay = async () => {
    await page.click('[data-testid="pay"]');
    await page.waitForFunction(() => location.hash.startsWith("#/request-status/"), { timeout: 60_000 });
  };

  await open("#/models");
  await page.waitForSelector(`[data-testid="model-${stack.ids.quality}"]`);
  await shot("models");

  // zk: draw a 7
  await requestPage(stack.ids.digits, 0);
  const box = (await (await page.$('[data-testid="digit-canvas"]'))!.boundingBox())!;
  const at = (x: number, y: number) => page.mouse.move(box.x + box.width * x, box.y + box.height * y);
  await at(0.2, 0.15);
  await page.mouse.down();
  for (let i = 1; i <= 10; i++) await at(0.2 + 0.6 * (i / 10), 0.15);
  for (let i = 1; i <= 14; i++) await at(0.8 - 0.35 * (i / 14), 0.15 + 0.72 * (i / 14));
  await page.mouse.up();
  await waitFor('[data-testid="create-gas"]', /about/);
  await shot("request");
  await pay();
  await waitFor('[data-testid="status"]', /Finalized/);
  await page.click('[data-testid="verify-proof"]');
  await waitFor('[data-testid="proof-verdict"]', /Valid/);
  await shot("status-zk");

  // optimistic: the window counting down
  await requestPage(stack.ids.digits, 1);
  await page.click(".tabs button:last-child");
  await page.select('[data-testid="example"]', "5");
  await pay();
  await waitFor('[data-testid="optimistic-state"]', /closes/);
  await shot("status-optimistic");
  await page.waitForSelector('[data-testid="move-clock"]');
  await page.click('[data-testid="move-clock"]');
  await waitFor('[data-testid="status"]', /Finalized/);

  // quality: the committee's scores
  await requestPage(stack.ids.quality, 3);
  await page.type('[data-testid="prompt"]', "what is 13 + 9 ?");
  await pay();
  await waitFor('[data-testid="status"]', /Finalized/);
  await shot("status-quality");

  await stack.cheat!.done;
  await open("#/operators");
  await page.waitForSelector('[data-testid="disputes"] a');
  await shot("operators");
  await page.click('[data-testid="disputes"] a');
  await waitFor('[data-testid="dispute-outcome"]', /ChallengerWon/);
  await shot("dispute");

  await page.setViewport({ width: 390, height: 844 });
  await open(`#/request/${stack.ids.iris}`);
  await waitFor('[data-testid="quote-total"]', /ETH/);
  await shot("narrow-request");
} finally {
  await browser.close();
  await stack.close();
  await rm(workDir, { recursive: true, force: true });
}
