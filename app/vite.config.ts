// The page's build: React with the JSX transform built into Vite, the shared TypeScript of operator/ and
// verifier-gen/ imported from the project root (app/server/server.ts adds the API and the RPC proxy).
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  server: { fs: { allow: [path.resolve(root, "..")] } },
  build: { outDir: path.resolve(root, "..", ".veriml", "app-dist"), emptyOutDir: true },
  optimizeDeps: { include: ["react", "react-dom/client", "ethers", "snarkjs", "pino"] },
});
