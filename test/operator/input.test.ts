import { mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { expect } from "chai";
import { rejectionOf } from "../helpers/errors.js";
import { hexlify, keccak256 } from "ethers";
import { BadInputError } from "../../operator/src/errors.js";
import { configureInputs, resolveInput } from "../../operator/src/executors/input.js";

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
    const dir = await mkdtemp(path.join(tmpdir(), "veriml-input-"));
    const file = path.join(dir, "input.bin");
    await writeFile(file, bytes);
    const uri = pathToFileURL(file).href;
    // Off by default: a requester chooses the URI.
    configureInputs({ fileRoot: undefined });
    expect((await rejectionOf(resolveInput({ input: "0x", inputHash: hash, inputURI: uri }))).message).to.match(
      /disabled/,
    );
    configureInputs({ fileRoot: dir });
    expect(await resolveInput({ input: "0x", inputHash: hash, inputURI: uri })).to.deep.equal(bytes);
  });

  it("never reads outside the input directory, devices, or oversized files (a requester chooses the URI)", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "veriml-input-"));
    configureInputs({ fileRoot: dir, maxBytes: 1024 });
    try {
      for (const [uri, reason] of [
        ["file:///dev/zero", /outside the input directory/],
        [pathToFileURL(path.join(dir, "..", "elsewhere.bin")).href, /cannot read|outside/],
      ] as const) {
        const error = await rejectionOf(resolveInput({ input: "0x", inputHash: hash, inputURI: uri }));
        expect(error).to.be.instanceOf(BadInputError);
        expect(error.message).to.match(reason);
      }
      const big = path.join(dir, "big.bin");
      await writeFile(big, new Uint8Array(2048));
      const error = await rejectionOf(
        resolveInput({ input: "0x", inputHash: hash, inputURI: pathToFileURL(big).href }),
      );
      expect(error.message).to.match(/exceeds 1024 bytes/);
      await symlink("/dev/zero", path.join(dir, "zero"));
      const link = await rejectionOf(
        resolveInput({ input: "0x", inputHash: hash, inputURI: pathToFileURL(path.join(dir, "zero")).href }),
      );
      expect(link.message).to.match(/outside the input directory/);
    } finally {
      configureInputs({ fileRoot: undefined, maxBytes: 16 * 1024 * 1024 });
    }
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
      expect(error.message).to.match(/cannot read|disabled/);
    }
  });
});
