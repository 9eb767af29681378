import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { expect } from "chai";
import { rejectionOf } from "../helpers/errors.js";
import { hexlify, keccak256 } from "ethers";
import { BadInputError } from "../../operator/src/errors.js";
import { resolveInput } from "../../operator/src/executors/input.js";

const bytes = Uint8Array.from([0, 3, 16, 9]);
const hash = keccak256(bytes);

describe("operator input resolution", () => {
  it("takes inline input and checks it against the request's hash", async () => {
    expect(await resolveInput({ input: hexlify(bytes), inputHash: hash, inputURI: "" })).to.deep.equal(bytes);
    {
      const error = await rejectionOf(resolveInput({ input: "0x0001", inputHash: hash, inputURI: "" }));
      expect(error).to.be.instanceOf(BadInputError);
      expect(error.message).to.match(/hash mismatch/);
    }
  });

  it("fetches data: URIs (base64 and hex) and file: URIs", async () => {
    const b64 = `data:application/octet-stream;base64,${Buffer.from(bytes).toString("base64")}`;
    expect(await resolveInput({ input: "0x", inputHash: hash, inputURI: b64 })).to.deep.equal(bytes);
    expect(await resolveInput({ input: "0x", inputHash: hash, inputURI: `data:,${hexlify(bytes)}` })).to.deep.equal(
      bytes,
    );
    const file = path.join(await mkdtemp(path.join(tmpdir(), "veriml-input-")), "input.bin");
    await writeFile(file, bytes);
    expect(await resolveInput({ input: "0x", inputHash: hash, inputURI: pathToFileURL(file).href })).to.deep.equal(
      bytes,
    );
  });

  it("refuses unknown schemes and unreadable files with a BadInputError", async () => {
    {
      const error = await rejectionOf(
        resolveInput({ input: "0x", inputHash: hash, inputURI: "https://example.com/x" }),
      );
      expect(error).to.be.instanceOf(BadInputError);
      expect(error.message).to.match(/unsupported input URI/);
    }
    {
      const error = await rejectionOf(
        resolveInput({ input: "0x", inputHash: hash, inputURI: "file:///nonexistent/x" }),
      );
      expect(error).to.be.instanceOf(BadInputError);
      expect(error.message).to.match(/cannot read/);
    }
  });
});
