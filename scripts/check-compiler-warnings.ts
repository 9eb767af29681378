/**
 * Fails when solc reported any warning: compiler warnings are errors in this project.
 * Run after a full compile (`hardhat build --force`), which rewrites every build-info output.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

interface SolcMessage {
  severity: string;
  formattedMessage?: string;
  message: string;
}

const dir = path.resolve("artifacts/build-info");
const files = (await readdir(dir)).filter((f) => f.endsWith(".output.json"));
if (files.length === 0) throw new Error(`no solc outputs in ${dir}: compile first`);

const warnings: string[] = [];
for (const file of files) {
  const { output } = JSON.parse(await readFile(path.join(dir, file), "utf8")) as { output: { errors?: SolcMessage[] } };
  for (const message of output.errors ?? []) {
    if (message.severity !== "info") warnings.push(message.formattedMessage ?? message.message);
  }
}
if (warnings.length > 0) {
  process.stderr.write(`${warnings.join("\n")}\n${warnings.length} compiler warning(s): warnings are errors here.\n`);
  process.exit(1);
}
process.stdout.write(`compiler: no warnings in ${files.length} solc run(s)\n`);
