/**
 * Runs a Worker the way its author would: `wrangler dev` bundles it with wrangler and runs it in
 * workerd through Miniflare, offline, on 127.0.0.1 and a port the system picks. Each call is a
 * separate workerd process, so a separate isolate. Wrangler needs Node 22.12+ (see node22.sh).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { RUNTIME } from "./runtime.ts";
import { type Running, start } from "./spawn.ts";

let node22: string | undefined;

/** The path of a Node.js that wrangler accepts, installing one from npm when needed. */
export function nodeForWrangler(): string {
  return node22 ??= execFileSync("bash", ["tests/support/node22.sh"], { stdio: ["ignore", "pipe", "inherit"] })
    .toString().trim();
}

/** Environment that keeps wrangler offline and quiet. */
export const WRANGLER_ENV: Record<string, string> = { WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" };

export interface RunningWorker {
  /** Where the Worker answers. */
  readonly url: string;
  /** Everything wrangler and the Worker printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `wrangler dev` with `vars` as bindings. `target` is a wrangler config (`-c`) or a script
 * run with the example's compatibility settings.
 */
export async function startWorker(
  vars: Record<string, string>,
  target = "examples/workers/wrangler.toml",
): Promise<RunningWorker> {
  if (target.endsWith(".toml")) return await startSession([target], undefined, { vars });
  const args = [target, "--compatibility-date", "2026-11-17", "--compatibility-flags", "nodejs_compat"];
  return await startSession([], undefined, { vars, args });
}

/**
 * Starts one `wrangler dev` session of several Workers (`-c` each; the first is the one that
 * answers on the port), with their state in `persist` (kept after `stop`, for a restart on it;
 * a fresh directory, removed at `stop`, when not given), the first's `vars` and more arguments.
 */
export async function startSession(
  configs: readonly string[],
  persist?: string,
  extra: { readonly vars?: Record<string, string>; readonly args?: readonly string[] } = {},
): Promise<RunningWorker> {
  const dir = persist ?? mkdtempSync(join(tmpdir(), "hpe-wrangler-"));
  const args = ["node_modules/wrangler/bin/wrangler.js", "dev"];
  for (const config of configs) args.push("-c", config);
  args.push("--ip", "127.0.0.1", "--port", "0", "--inspector-port", "0", "--persist-to", dir, ...(extra.args ?? []));
  for (const [name, value] of Object.entries(extra.vars ?? {})) args.push("--var", `${name}:${value}`);
  let running: Running;
  try {
    running = await start(nodeForWrangler(), args, WRANGLER_ENV, /Ready on http:\/\/127\.0\.0\.1:\d+/, 90_000);
  } catch (error) {
    if (persist === undefined) rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const url = /Ready on (http:\/\/127\.0\.0\.1:\d+)/.exec(running.output())![1];
  return {
    url,
    output: running.output,
    stop: async () => {
      await running.stop("SIGTERM");
      if (persist === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Declares a suite whose runtime under test is workerd, whatever runs the file: it runs once,
 * under Node's runner; Bun and Deno report it skipped, with the reason.
 */
export function workerdSuite(name: string, suite: () => void): void {
  if (RUNTIME === "node") describe(name, suite);
  else {
    test(`${name} (skipped on ${RUNTIME}: workerd is what it tests; it runs once, under the Node runner)`, {
      skip: true,
    }, () => {});
  }
}
