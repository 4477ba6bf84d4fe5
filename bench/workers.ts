/**
 * Workers figures: the example's bundle as wrangler builds it for upload (raw and gzip), against
 * bare Hono with the same routes, and the Upstash REST requests per 1,000 edge requests at a
 * steady rate, counted at the REST gateway (over a real redis-server) while the example runs in
 * workerd through `wrangler dev`.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { startRedis } from "../tests/support/redis.ts";
import { startGateway } from "../tests/support/upstash_gateway.ts";
import { nodeForWrangler, startWorker, WRANGLER_ENV } from "../tests/support/workerd.ts";

export interface BundleSize {
  readonly rawBytes: number;
  readonly gzipBytes: number;
}

export interface WorkersResult {
  readonly example: BundleSize;
  readonly bare: BundleSize;
  readonly requests: number;
  readonly seconds: number;
  readonly restRequests: number;
  readonly flushWindowMs: number;
}

/** Bundles `target` (a wrangler config, or a script) the way `wrangler deploy` would, without uploading. */
export function bundle(target: string): BundleSize {
  const out = mkdtempSync(join(tmpdir(), "hpe-bundle-"));
  try {
    const args = ["node_modules/wrangler/bin/wrangler.js", "deploy", "--dry-run", "--outdir", out];
    if (target.endsWith(".toml")) args.push("-c", target);
    else {args.push(
        target,
        "--name",
        "bare",
        "--compatibility-date",
        "2026-11-17",
        "--compatibility-flags",
        "nodejs_compat",
      );}
    execFileSync(nodeForWrangler(), args, { env: { ...process.env, ...WRANGLER_ENV }, stdio: "ignore" });
    const code = readFileSync(join(out, target.endsWith(".toml") ? "app.js" : "workers_bare.js"));
    // (every config's main is app.ts, so wrangler writes app.js)
    return { rawBytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Measures bundle sizes and REST requests for `requests` requests spread evenly over `seconds`. */
export async function benchWorkers(requests = 1000, seconds = 10): Promise<WorkersResult> {
  const example = bundle("examples/workers/wrangler.toml");
  const bare = bundle("bench/workers_bare.ts");
  const redis = await startRedis();
  const gateway = await startGateway(redis.port);
  const worker = await startWorker({
    UPSTASH_REDIS_REST_URL: gateway.url,
    UPSTASH_REDIS_REST_TOKEN: gateway.token,
    REDIS_KEY_PREFIX: "bench",
  });
  const total = () => [...gateway.requests.values()].reduce((a, b) => a + b, 0);
  try {
    // Warm up: the first publish loads its script (one NOSCRIPT round trip), which is not steady state.
    await (await fetch(`${worker.url}/users/0`)).text();
    await waitQuiet(total, 3_000);
    const before = total();
    const gapMs = (seconds * 1000) / requests;
    const started = performance.now();
    for (let i = 0; i < requests; i++) {
      const due = started + i * gapMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await (await fetch(`${worker.url}/users/${i}`)).text();
    }
    await waitQuiet(total, 3_000);
    return {
      example,
      bare,
      requests,
      seconds: (performance.now() - started) / 1000,
      restRequests: total() - before,
      flushWindowMs: 1000,
    };
  } finally {
    await worker.stop();
    await gateway.stop();
    await redis.stop();
  }
}

/** Waits until `count` has not moved for `quietMs` (the last flush window closed and published). */
async function waitQuiet(count: () => number, quietMs: number): Promise<void> {
  let last = count();
  let since = performance.now();
  const deadline = since + 30_000;
  while (performance.now() - since < quietMs && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    if (count() !== last) {
      last = count();
      since = performance.now();
    }
  }
}
