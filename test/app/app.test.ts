/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// (functions passed to page.evaluate run in the page: they are typed against the DOM)
// The web app in headless Chromium against a real `hardhat node`, Ignition's deployment, operator and
// validator processes (scripts/lib/app-stack.ts, what `npm run app` starts): draw a digit and pay, see the
// verified label and re-check the proof in the browser; pay in an ERC-20 through an injected wallet with
// the approval; a request from the page settles in each mode (zk, optimistic, sampling, quality) with the
// page showing the mode's own steps; bad input and wallet problems are refused with a clear message before
// anything is sent; the optimistic cheat's dispute is shown move by move down to the one-step.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ZeroAddress, getBytes, parseEther, toBeHex, type JsonRpcProvider } from "ethers";
import { pino } from "pino";
import type { Browser, Page } from "puppeteer-core";
import { settledOutput } from "../../operator/src/chain/results.js";
import { devAccount } from "../../scripts/lib/accounts.js";
import {
  ACCOUNTS,
  ATTESTED_SAMPLES,
  BATCH,
  DIGITS_BUILD,
  startAppStack,
  type AppStack,
} from "../../scripts/lib/app-stack.js";
import { injectTestWallet, launchChromium, type TestWalletControl } from "../../scripts/lib/browser.js";
import { inlineEthRequest } from "../../scripts/lib/requests.js";
import {
  InferenceMarket__factory,
  ModelRegistry__factory,
  SamplingModule__factory,
  type InferenceMarket,
} from "../../types/ethers-contracts/index.js";
import { datasetCommitment, loadTestSet, predict, samplesOf } from "../../verifier-gen/src/attestation.js";
import { decodeOutput } from "../../verifier-gen/src/encoding.js";
import { runInt } from "../../verifier-gen/src/intgraph.js";
import { interfaceOf, quantizeFloatInput } from "../../verifier-gen/src/interface.js";
import { loadModelDir, terminateSnarkjs } from "../../verifier-gen/src/pipeline.js";

const ZK = 0;
const OPTIMISTIC = 1;
const SAMPLING = 2;

describe("app: the web app in headless Chromium against a hardhat node and operator processes", function () {
  this.timeout(240_000);
  let stack: AppStack;
  let browser: Browser;
  let page: Page;
  let workDir: string;
  let market: InferenceMarket;
  let provider: JsonRpcProvider;
  const user = () => devAccount(ACCOUNTS.user, provider).address;
  const digits = loadModelDir(DIGITS_BUILD);
  let testSet: { inputs: number[][]; labels: number[] };

  before(async () => {
    testSet = JSON.parse(await readFile("data/digits-test.json", "utf8")) as typeof testSet;
    workDir = await mkdtemp(path.join(tmpdir(), "veriml-app-"));
    stack = await startAppStack({
      deploymentId: `app-test-${process.pid}`,
      workDir,
      port: 0,
      log: pino({ level: "silent" }),
    });
    provider = stack.provider;
    market = InferenceMarket__factory.connect(stack.suite.market, provider);
    browser = await launchChromium();
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 1000 });
    await injectTestWallet(page, user());
    page.on("pageerror", (e) => console.error("page error:", e));
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
    await terminateSnarkjs();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  /** A fresh load of the page at `hash` (no wallet connected yet). */
  const open = async (hash: string) => {
    await page.goto("about:blank");
    await page.goto(`${stack.url}${hash}`, { waitUntil: "load" });
    await page.waitForSelector("main h1", { timeout: 60_000 });
  };
  const text = (selector: string) => page.$eval(selector, (e) => (e as HTMLElement).innerText);
  const waitText = (selector: string, pattern: RegExp, timeout = 60_000) =>
    page.waitForFunction(
      (s: string, p: string) => new RegExp(p).test((document.querySelector(s) as HTMLElement | null)?.innerText ?? ""),
      { timeout },
      selector,
      pattern.source,
    );
  const wallet = (change: Partial<TestWalletControl>) =>
    page.evaluate(
      (c) => Object.assign((window as unknown as { __testWallet: TestWalletControl }).__testWallet, c),
      change,
    );
  const useDevelopmentAccount = async () => {
    await page.select("#dev-account", user());
    await page.click('[data-testid="connect-development"]');
    await page.waitForSelector('[data-testid="wallet-address"]');
  };
  const useInjectedWallet = async () => {
    await page.click('[data-testid="connect-injected"]');
    await page.waitForSelector('[data-testid="wallet-address"]');
  };
  /** Opens the request page of `modelId`, picks `mode`, waits for the quote. */
  const requestPage = async (modelId: bigint, mode: number) => {
    await open(`#/request/${modelId}`);
    await page.waitForSelector(`input[name="mode"][value="${mode}"]`);
    await page.click(`input[name="mode"][value="${mode}"]`);
    await waitText('[data-testid="quote-total"]', /ETH|DUSD/);
  };
  const fillJson = async (values: number[]) => {
    await page.waitForSelector('[data-testid="json-input"]');
    await retype('[data-testid="json-input"]', JSON.stringify(values));
  };
  const chooseJsonForm = async () => {
    const tab = await page.$$eval(".tabs button", (bs) => bs.findIndex((b) => b.textContent?.startsWith("JSON")));
    if (tab >= 0) await (await page.$$(".tabs button"))[tab]!.click();
  };
  /** Pays and returns the new request's id once the page shows its status. */
  const pay = async (): Promise<bigint> => {
    const before = await market.requestCount();
    await page.click('[data-testid="pay"]');
    await page.waitForFunction(() => location.hash.startsWith("#/request-status/"), { timeout: 120_000 });
    const id = BigInt(await page.evaluate(() => location.hash.split("/").at(-1)!));
    expect(id).to.equal(before + 1n);
    return id;
  };
  const waitStatus = (status: RegExp, timeout = 120_000) => waitText('[data-testid="status"]', status, timeout);
  /** The gas the page shows per transaction is the receipt's; returns the transaction of each row. */
  const checkStepsAgainstReceipts = async (minRows = 4): Promise<string[]> => {
    const rows = await page.$$eval('[data-testid="steps"] tbody tr', (trs) =>
      trs.map((tr) => ({
        tx: tr.querySelector("code")!.getAttribute("title")!,
        gas: Number((tr.querySelector("td.num") as HTMLElement).innerText.replace(/,/g, "")),
      })),
    );
    expect(rows.length).to.be.at.least(minRows);
    for (const r of rows) expect(r.gas).to.equal(Number((await provider.getTransactionReceipt(r.tx))!.gasUsed));
    return rows.map((r) => r.tx);
  };
  /** Nothing was sent: no request and no transaction from the user. */
  const nothingSent = async (act: () => Promise<void>) => {
    const [count, nonce] = [await market.requestCount(), await provider.getTransactionCount(user())];
    await act();
    expect(await market.requestCount()).to.equal(count);
    expect(await provider.getTransactionCount(user())).to.equal(nonce);
  };
  const refused = async (pattern: RegExp) => {
    await page.click('[data-testid="pay"]');
    await waitText('[data-testid="request-error"]', pattern, 20_000).catch(async (error: unknown) => {
      const shown = await text('[data-testid="request-error"]').catch(() => "(no message)");
      throw new Error(`expected ${pattern}, the page says: ${shown}`, { cause: error });
    });
    return text('[data-testid="request-error"]');
  };
  /** Replaces what an input holds, as a user selecting it all and typing would. */
  const retype = async (selector: string, value: string) => {
    await page.click(selector, { count: 3 });
    await page.keyboard.press("Backspace");
    await page.type(selector, value);
  };

  it("lists every registered model with modes, prices, input and output, modelHash, verifier, accuracy and attestations", async () => {
    await open("#/models");
    await page.waitForSelector(`[data-testid="model-${stack.ids.digits}"]`);
    const card = await text(`[data-testid="model-${stack.ids.digits}"]`);
    expect(card).to.include("digits_mlp").and.include("zk").and.include("optimistic").and.include("sampling");
    expect(card).to.include("0.01 ETH or 20 DUSD");
    expect(card).to.match(/label, 10 classes/);
    expect(card).to.include("96.94 % verifiable (float model 96.94 %) on 360 held-out rows");
    const hashes = await page.$$eval(`[data-testid="model-${stack.ids.digits}"] code`, (cs) =>
      cs.map((c) => c.getAttribute("title")),
    );
    expect(hashes).to.include(digits.manifest.modelHash);
    // The attested count is the BenchmarkRegistry's record: the interpreter's count on the committed test set, shown
    // with who chose that set and its labels, and as no percentage: an accuracy only on a test set the reader trusts.
    const samples = samplesOf(digits, loadTestSet("data/digits-test.json", ATTESTED_SAMPLES));
    const correct = samples.filter((s) => predict(digits, s.q) === s.label).length;
    const attested = `[data-testid="attestations-${stack.ids.digits}"]`;
    const record = await text(attested);
    expect(record).to.include(`${correct} of ${ATTESTED_SAMPLES} correct on test set`);
    expect(record).to.include("chosen by the model's owner").and.not.include("%").and.not.include("Conflicts");
    const attestedHashes = await page.$$eval(`${attested} code`, (cs) => cs.map((c) => c.getAttribute("title")));
    expect(attestedHashes.slice(0, 2)).to.deep.equal([
      toBeHex(datasetCommitment(digits, samples), 32),
      devAccount(ACCOUNTS.deployer, provider).address,
    ]);
    expect(await text(`[data-testid="attestations-${stack.ids.iris}"]`)).to.include("no benchmark attestation");
    const iris = await text(`[data-testid="model-${stack.ids.iris}"]`);
    expect(iris).to.include("iris_mlp").and.include("logits [3], 3 classes").and.include("98.33 %");
    expect(await text(`[data-testid="model-${stack.ids.quality}"]`)).to.include("quality");
  });

  it("zk: a drawn digit is paid for with a development account, verified on chain, shown decoded, and its proof re-checked in the browser", async () => {
    await open(`#/request/${stack.ids.digits}`);
    await useDevelopmentAccount();
    const canvas = (await (await page.$('[data-testid="digit-canvas"]'))!.boundingBox())!;
    // A "1": one vertical stroke.
    await page.mouse.move(canvas.x + canvas.width * 0.5, canvas.y + canvas.height * 0.12);
    await page.mouse.down();
    for (let i = 1; i <= 16; i++)
      await page.mouse.move(canvas.x + canvas.width * 0.5, canvas.y + canvas.height * (0.12 + (0.76 * i) / 16));
    await page.mouse.up();
    const pixels = (await text('[data-testid="digit-values"]')).split(",").map(Number);
    expect(pixels).to.have.length(64);
    await waitText('[data-testid="create-gas"]', /about [\d,]+ gas/);
    const id = await pay();
    // The input on chain is the drawing's pixels quantized by the model interface, exactly.
    const { q, bytes } = quantizeFloatInput(interfaceOf(digits.manifest), pixels);
    const [created] = await market.queryFilter(market.filters.RequestCreated(id));
    expect(getBytes(created!.args.input)).to.deep.equal(bytes);
    await waitStatus(/Finalized/);
    const expected = runInt(digits.graph, q).output[0]!;
    await waitText('[data-testid="label"]', new RegExp(`^${expected}$`));
    expect(decodeOutput(await settledOutput(market, id))).to.deep.equal([BigInt(expected)]);
    expect(expected, "a vertical stroke is a 1").to.equal(1);
    await waitText('[data-testid="steps"]', /Groth16 proof verified on chain/);
    // Created, then proof verified and finalized in the operator's one fulfill transaction.
    const txs = await checkStepsAgainstReceipts(3);
    expect(txs).to.have.length(3);
    expect(txs[1]).to.equal(txs[2]);
    expect(txs[0]).to.not.equal(txs[1]);
    await page.click('[data-testid="verify-proof"]');
    await waitText('[data-testid="proof-verdict"]', /^Valid/);
    expect(await text('[data-testid="proof-covers-request"]')).to.match(/^It covers this request: the input hashes/);
    expect(await text('[data-testid="key-in-code"]')).to.match(/yes, 20 of 20 key constants/);
    expect(await text('[data-testid="public-signals"]')).to.match(/packs input 0\.\.48: .*\n?.*label 0\.\.0: 1/s);
  });

  it("refuses bad input and wallet problems with a clear message, sending nothing", async () => {
    await requestPage(stack.ids.digits, ZK);
    await useInjectedWallet();
    await chooseJsonForm();
    // wrong shape
    await nothingSent(async () => {
      await fillJson([1, 2, 3]);
      expect(await refused(/input has 3 values, the model takes 64/)).to.include("Nothing was sent");
    });
    // out of range (pixels above the model's range of 0..31)
    await nothingSent(async () => {
      await fillJson(new Array<number>(64).fill(0).map((_, i) => (i === 5 ? 99 : 0)));
      expect(await refused(/input value 99 at index 5 is outside the model's range/)).to.include("Nothing was sent");
    });
    const sample = new Array<number>(64).fill(0).map((_, i) => (i % 9 === 0 ? 12 : 0));
    // too low a fee
    await nothingSent(async () => {
      await fillJson(sample);
      await retype("#max-fee", "0.001");
      await refused(/The fee you allow \(0\.001 ETH\) is below what this request costs now \(0\.01 ETH/);
    });
    await retype("#max-fee", "0.01");
    // the wallet on another network
    await nothingSent(async () => {
      await wallet({ chainId: "0x1" });
      await refused(/Your wallet is on chain 1, but this market is on chain 31337/);
      await wallet({ chainId: null });
    });
    // the user declines to sign
    await nothingSent(async () => {
      await wallet({ reject: true, calls: [] });
      await refused(/You declined the signature in your wallet: nothing was sent/);
      const calls = await page.evaluate(
        () => (window as unknown as { __testWallet: TestWalletControl }).__testWallet.calls,
      );
      expect(calls).to.include("eth_sendTransaction");
      await wallet({ reject: false });
    });
    // a tabular model's named fields: out of range
    await requestPage(stack.ids.iris, ZK);
    await useDevelopmentAccount();
    await nothingSent(async () => {
      const names = await page.$$eval(".fields label", (ls) => ls.map((l) => l.textContent));
      expect(names).to.deep.equal([
        "sepal length (standardised)",
        "sepal width (standardised)",
        "petal length (standardised)",
        "petal width (standardised)",
      ]);
      for (const [i, v] of ["0.3", "-1", "99", "0.2"].entries()) await page.type(`[data-testid="field-${i}"]`, v);
      await refused(/input value 99 at index 2 is outside the model's range \[-2\.63\d*, 2\.63\d*\]/);
    });
  });

  it("zk in an ERC-20: the injected wallet approves the market, then pays; the tabular model is paid in ETH from named fields", async () => {
    await requestPage(stack.ids.digits, ZK);
    await useInjectedWallet();
    await page.select("#token", stack.token);
    await waitText('[data-testid="quote-total"]', /20 DUSD/);
    await chooseJsonForm();
    await page.select('[data-testid="example"]', "0");
    const id = await pay();
    await waitStatus(/Finalized/);
    expect((await market.getRequest(id)).token).to.equal(stack.token);
    const approvals = await page.evaluate(
      () => (window as unknown as { __testWallet: TestWalletControl }).__testWallet.calls,
    );
    expect(approvals.filter((m) => m === "eth_sendTransaction")).to.have.length(2); // approve, createRequest
    const { q } = quantizeFloatInput(interfaceOf(digits.manifest), testSet.inputs[0]!);
    await waitText('[data-testid="label"]', new RegExp(`^${runInt(digits.graph, q).output[0]}$`));

    await requestPage(stack.ids.iris, ZK);
    await useDevelopmentAccount();
    for (const [i, v] of ["0.311", "-1.053", "1.047", "0.264"].entries())
      await page.type(`[data-testid="field-${i}"]`, v);
    await pay();
    await waitStatus(/Finalized/);
    await waitText('[data-testid="label"]', /^virginica$/);
  });

  it("zk in batches: a request from the page and one from another account settle by one proof, re-checked slot by slot", async () => {
    const model = stack.ids.digitsBatch;
    await open("#/models");
    await waitText(`[data-testid="batch-${model}"]`, new RegExp(`up to ${BATCH.k} requests`));
    await requestPage(model, ZK);
    await useDevelopmentAccount();
    await chooseJsonForm();
    await page.select('[data-testid="example"]', "5");
    const first = await pay();
    // A second request inside the operator's batch window, sent by another account without the page.
    const other = devAccount(9, provider);
    const [price, fee] = await market.quote(model, ZK, ZeroAddress);
    const deadline = BigInt((await provider.getBlock("latest"))!.timestamp + 3600);
    const input = Uint8Array.from(testSet.inputs[6]!);
    const params = inlineEthRequest(model, ZK, input, price + fee, deadline, await market.termsHashOf(model, ZK));
    await (await market.connect(other).createRequest(params, { value: price + fee })).wait();
    const second = await market.requestCount();
    await waitStatus(/Finalized/, 120_000);
    // One fulfillBatch transaction settled both.
    const settledBy = async (id: bigint) =>
      (await market.queryFilter(market.filters.RequestFinalized(id)))[0]!.transactionHash;
    const tx = await settledBy(first);
    expect(await settledBy(second)).to.equal(tx);
    const call = market.interface.parseTransaction((await provider.getTransaction(tx))!);
    expect(call?.name).to.equal("fulfillBatch");
    expect(call!.args[0]).to.deep.equal([first, second]);
    const [created] = await market.queryFilter(market.filters.RequestCreated(first));
    const q = Array.from(getBytes(created!.args.input));
    await waitText('[data-testid="label"]', new RegExp(`^${runInt(digits.graph, q).output[0]}$`));
    await waitText('[data-testid="steps"]', /Groth16 proof of 2 requests verified on chain/);
    await page.click('[data-testid="verify-proof"]');
    await waitText('[data-testid="proof-verdict"]', /^Valid/);
    expect(await text('[data-testid="proof-covers-request"]')).to.match(
      new RegExp(`^It covers this request \\(slot 0 of ${BATCH.k}\\)`),
    );
    const signals = await text('[data-testid="public-signals"]');
    // Every slot of the batch circuit (the two requests, then padding) is in the signals the browser checked.
    for (let slot = 0; slot < BATCH.k; slot++) expect(signals).to.include(`slot ${slot}: packs input 0..`);
  });

  it("optimistic: the challenge window counts down, the local chain's clock is moved past it, the result is final", async () => {
    await requestPage(stack.ids.digits, OPTIMISTIC);
    await useDevelopmentAccount();
    await chooseJsonForm();
    await page.select('[data-testid="example"]', "3");
    const id = await pay();
    await waitText('[data-testid="optimistic-state"]', /Challenge window closes\s+in \d+ min/);
    await page.waitForSelector('[data-testid="move-clock"]');
    await page.click('[data-testid="move-clock"]');
    await waitStatus(/Finalized/);
    await waitText('[data-testid="steps"]', /result proposed with its trace root/);
    expect((await market.getRequest(id)).status).to.equal(4n);
    await waitText('[data-testid="label"]', /^\d$/);
    await checkStepsAgainstReceipts();
  });

  it("sampling: the page shows whether the result was sampled and by whom, and the settlement", async () => {
    await requestPage(stack.ids.digits, SAMPLING);
    await useDevelopmentAccount();
    await chooseJsonForm();
    await page.select('[data-testid="example"]', "4");
    const id = await pay();
    await waitStatus(/Finalized/, 180_000);
    await waitText('[data-testid="sampling-state"]', /Sampling phase: Final/);
    const job = await SamplingModule__factory.connect(stack.suite.sampling, provider).getJob(id);
    const shown = await text('[data-testid="sampling-state"]');
    if (job.sampled) {
      expect(shown).to.include("Sampled: a second operator recomputes the result blind");
      const sampler = await page.$eval('[data-testid="sampler"] code', (c) => c.getAttribute("title"));
      expect(sampler).to.equal(job.sampler);
      expect(job.sampler).to.not.equal(job.operator);
    } else {
      expect(shown).to.include("Not sampled");
    }
    await waitText('[data-testid="steps"]', /operator committed to its output/);
  });

  it("quality: the committee is drawn, its scores appear as they are revealed, the answer is accepted", async () => {
    await requestPage(stack.ids.quality, 3);
    await useDevelopmentAccount();
    await page.type('[data-testid="prompt"]', "what is 13 + 9 ?");
    await pay();
    await waitText('[data-testid="quality-state"]', /Committee of validators/, 120_000);
    await waitStatus(/Finalized/, 180_000);
    const scores = await page.$$eval('[data-testid="score"]', (tds) => tds.map((t) => t.textContent));
    expect(scores.filter((s) => /\d+ \/ 10000/.test(s ?? "")).length).to.be.at.least(2);
    expect(await text('[data-testid="response"]')).to.match(/22/);
    await waitText('[data-testid="steps"]', /score revealed: \d+/);
  });

  it("shows the optimistic cheat's dispute move by move down to the one-step, and the cheater's slash", async () => {
    const cheat = stack.cheat!;
    await cheat.done;
    await open("#/operators");
    await page.waitForSelector('[data-testid="disputes"] a');
    await page.click('[data-testid="disputes"] a');
    await waitText('[data-testid="dispute-outcome"]', /ChallengerWon/);
    // The tensor's name comes from the model's build, shown once the models have loaded.
    await waitText(
      '[data-testid="one-step"]',
      /the chain recomputed element \d+ of tensor 1 \(dense fc1\) = -?\d+; the operator's value was wrong/,
    );
    const timeline = await text('[data-testid="timeline"]');
    expect(timeline).to.match(/challenge: bond locked/);
    expect(timeline).to.match(/of the trace tree/);
    expect(timeline).to.match(/disputed tensor found: 1/);
    expect(timeline).to.match(/of tensor 1's element tree/);
    expect(timeline).to.match(/game resolved: ChallengerWon/);
    await open("#/operators");
    await page.waitForSelector('[data-testid="slashed"]');
    expect(await text('[data-testid="slashed"]')).to.include(`request ${cheat.requestId}`);
    await open(`#/request-status/${cheat.requestId}`);
    await waitStatus(/Rejected/);
  });

  it("refuses a model whose artifact URI serves another build: shown with the mismatch, nothing to pay", async () => {
    // A copy of iris's registration (its modelHash, its verifier) whose artifact URI holds the wine build.
    const owner = devAccount(ACCOUNTS.deployer, provider);
    const registry = ModelRegistry__factory.connect(stack.suite.registry, owner);
    const config = await registry.modeConfig(stack.ids.iris, ZK);
    const irisHash = (await registry.getModel(stack.ids.iris)).modelHash;
    const uri = `file://${path.resolve("models/build/wine_probs")}`;
    await (
      await registry.registerModel(irisHash, uri, parseEther("0.01"), parseEther("1"), [{ mode: ZK, config }])
    ).wait();
    const id = await registry.modelCount();
    await open("#/models");
    await waitText(`[data-testid="model-${id}"]`, /is the build of 0x[0-9a-f]{64}, but model \d+ is registered as/);
    await open(`#/request/${id}`);
    await waitText('[data-testid="request-error"]', /its build is not the one registered on chain/);
    expect(await page.$('[data-testid="pay"]')).to.equal(null);
  });

  it("is usable on a narrow screen and keyboard-labelled: no sideways scrolling, every control named", async () => {
    await page.setViewport({ width: 375, height: 800 });
    try {
      for (const hash of ["#/models", `#/request/${stack.ids.iris}`, "#/operators"]) {
        await open(hash);
        await new Promise((r) => setTimeout(r, 1500));
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow, `${hash} scrolls sideways`).to.be.at.most(0);
        const unnamed = await page.evaluate(() =>
          [...document.querySelectorAll("input, select, textarea, button")]
            .filter((el) => {
              const e = el as HTMLInputElement;
              const named = (e.labels?.length ?? 0) > 0 || e.getAttribute("aria-label") || e.textContent?.trim();
              return !named && e.type !== "radio";
            })
            .map((el) => el.outerHTML.slice(0, 80)),
        );
        expect(unnamed, hash).to.deep.equal([]);
      }
    } finally {
      await page.setViewport({ width: 1280, height: 1000 });
    }
  });
});
