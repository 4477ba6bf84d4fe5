/** Which runtime runs this test file, and how to run a TypeScript file on it. */
import process from "node:process";
import { createServer } from "node:net";
import { runtimeName } from "../../src/adapter/auto.ts";

export const RUNTIME = runtimeName();

/** The command that runs `file` on the runtime running the tests. */
export function commandFor(file: string): [string, string[]] {
  if (RUNTIME === "deno") return [process.execPath, ["run", "-A", file]];
  if (RUNTIME === "bun") return [process.execPath, [file]];
  return [process.execPath, ["--import", "tsx", file]];
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
