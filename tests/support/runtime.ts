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

/** Another host runtime than the one running the tests (Node under Deno and Bun, Bun under Node). */
export const OTHER_RUNTIME: "node" | "bun" = RUNTIME === "node" ? "bun" : "node";

/** The command that runs `file` on `runtime` (from npm, as the test command installs them). */
export function commandOn(runtime: "node" | "bun" | "deno", file: string): [string, string[]] {
  if (runtime === RUNTIME) return commandFor(file);
  if (runtime === "deno") return ["node_modules/.bin/deno", ["run", "-A", file]];
  if (runtime === "bun") return ["node_modules/.bin/bun", [file]];
  return ["node", ["--import", "tsx", file]];
}

/** `count` distinct TCP ports that were free a moment ago on 127.0.0.1 (held together while chosen). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
        const server = createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve(server));
      })),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    return typeof address === "object" && address ? address.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0];
}
