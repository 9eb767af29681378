import { createServer, type Server } from "node:http";
import { ConfigError } from "./errors.js";

const COUNTERS = [
  "requests_seen",
  "requests_claimed",
  "requests_proved",
  "requests_settled",
  "requests_failed",
  // spML (issue 6)
  "sampling_reveals",
  "sampling_failed",
  "sampler_draws",
  "sampler_commits",
  "sampler_reveals",
  "validator_votes",
  "arbitration_moves",
  "randomness_fulfilled",
  // reliability (issue 11)
  "job_errors",
  "claims_deferred",
  "loop_failures",
  "tx_replacements",
  // batched zk proofs (issue 14)
  "batches_settled",
] as const;

const GAUGES = [
  "jobs_in_flight",
  "oldest_held_job_age_seconds",
  "pending_transactions",
  "last_loop_age_seconds",
] as const;
export type Gauge = (typeof GAUGES)[number];

/** Counters and a summary of proof times, served as Prometheus text on /metrics. */
export class Metrics {
  private readonly counters = new Map<string, number>();
  private readonly durations: number[] = [];
  private readonly gauges = new Map<string, number>();
  private readonly perModel = new Map<string, number>();
  private lastLoopOk = Date.now();
  /** A loop older than this makes /healthz answer 503. */
  healthyWithinMs = 60_000;

  set(name: Gauge, value: number): void {
    this.gauges.set(name, value);
  }

  /** The operator loop completed an iteration. */
  loopOk(): void {
    this.lastLoopOk = Date.now();
  }

  healthy(): boolean {
    return Date.now() - this.lastLoopOk <= this.healthyWithinMs;
  }

  /** Counts one `name`; a request counter with `model` also counts it for that model and mode. */
  inc(name: (typeof COUNTERS)[number], model?: { modelId: bigint; mode: number }): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + 1);
    if (model !== undefined && name.startsWith("requests_")) {
      const key = `${model.modelId}|${model.mode}|${name.slice("requests_".length)}`;
      this.perModel.set(key, (this.perModel.get(key) ?? 0) + 1);
    }
  }

  /** Requests of one model and mode at one stage (seen, claimed, proved, settled, failed). */
  getFor(modelId: bigint, mode: number, stage: string): number {
    return this.perModel.get(`${modelId}|${mode}|${stage}`) ?? 0;
  }

  observeProofMs(ms: number): void {
    this.durations.push(ms);
    if (this.durations.length > 1000) this.durations.shift();
  }

  get(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  render(): string {
    const lines: string[] = [];
    for (const name of COUNTERS) {
      lines.push(`# TYPE veriml_${name}_total counter`, `veriml_${name}_total ${this.get(name)}`);
    }
    lines.push("# TYPE veriml_model_requests_total counter");
    for (const [key, n] of [...this.perModel].sort()) {
      const [model, mode, stage] = key.split("|");
      lines.push(`veriml_model_requests_total{model="${model}",mode="${mode}",stage="${stage}"} ${n}`);
    }
    const sorted = [...this.durations].sort((a, b) => a - b);
    const quantile = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    lines.push("# TYPE veriml_proof_seconds summary");
    for (const q of [0.5, 0.9, 0.99]) lines.push(`veriml_proof_seconds{quantile="${q}"} ${quantile(q) / 1000}`);
    lines.push(`veriml_proof_seconds_sum ${sorted.reduce((a, b) => a + b, 0) / 1000}`);
    lines.push(`veriml_proof_seconds_count ${sorted.length}`);
    this.gauges.set("last_loop_age_seconds", (Date.now() - this.lastLoopOk) / 1000);
    for (const name of GAUGES)
      lines.push(`# TYPE veriml_${name} gauge`, `veriml_${name} ${this.gauges.get(name) ?? 0}`);
    return `${lines.join("\n")}\n`;
  }

  /** Serves /metrics and /healthz (200 while the loop runs, 503 once it stalled) on 127.0.0.1:`port`. */
  async serve(port: number): Promise<Server> {
    const server = createServer((req, res) => {
      if (req.url === "/metrics") {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
        res.end(this.render());
      } else if (req.url === "/healthz") {
        const ok = this.healthy();
        res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" });
        res.end(ok ? "ok\n" : `stalled: last loop ${Math.round((Date.now() - this.lastLoopOk) / 1000)} s ago\n`);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (error: NodeJS.ErrnoException) =>
        reject(
          error.code === "EADDRINUSE"
            ? new ConfigError(
                `metrics port ${port} on 127.0.0.1 is in use by another process: choose another metricsPort`,
                {
                  cause: error,
                },
              )
            : new ConfigError(`cannot serve metrics on 127.0.0.1:${port}: ${error.message}`, { cause: error }),
        ),
      );
      server.listen(port, "127.0.0.1", resolve);
    });
    return server;
  }
}
