/**
 * `npm run drill`: the reliability drill (scripts/lib/drill.ts) over every fault class, against real
 * `hardhat node` and operator processes. Prints the table the README shows and writes
 * bench/results/drill.json. Options: DRILL_REQUESTS (per fault, default 20), DRILL_ONLY (a substring of
 * the fault names to run a subset).
 */
import { mkdir } from "node:fs/promises";
import { drillTable, runDrill, scenarios, writeDrillResults, type DrillResult } from "./lib/drill.js";
import { runChallengerDrill, runSamplingDrill } from "./lib/drill-roles.js";

const requests = Number(process.env.DRILL_REQUESTS ?? 20);
const only = process.env.DRILL_ONLY;
const results: DrillResult[] = [];
for (const scenario of scenarios({ requests })) {
  if (only !== undefined && !scenario.name.includes(only)) continue;
  process.stderr.write(`[drill] ${scenario.name}: ${scenario.requests} requests\n`);
  const result = await runDrill(scenario, ".veriml/drill");
  process.stderr.write(`[drill]   ${JSON.stringify(result)}\n`);
  results.push(result);
}
// The roles that guard other operators' results: challenger, sampler, validators.
for (const [name, run] of [
  ["challenger", () => runChallengerDrill(Math.max(4, Math.floor(requests / 2)), ".veriml/drill")],
  ["sampler", () => runSamplingDrill(3, ".veriml/drill")],
] as const) {
  if (only !== undefined && !name.includes(only) && !only.includes("roles")) continue;
  process.stderr.write(`[drill] ${name} roles\n`);
  const result = await run();
  process.stderr.write(`[drill]   ${JSON.stringify(result)}\n`);
  results.push(result);
}
await mkdir("bench/results", { recursive: true });
await writeDrillResults("bench/results/drill.json", results);
console.log(drillTable(results));
const failed = results.filter(
  (r) => r.settledExactlyOnce !== r.requests || r.duplicates > 0 || r.honestSlashes > 0 || !r.escrowEqualsLiabilities,
);
if (failed.length > 0) {
  console.error(`drill failed: ${failed.map((r) => r.fault).join("; ")}`);
  process.exitCode = 1;
}
