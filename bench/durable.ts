/**
 * What the Durable Object backend costs on Cloudflare's bill: Durable Object requests and SQLite
 * rows written for 1,000 edge requests at a steady rate and for one scrape, counted by the metrics
 * object itself (its `stats` operation; rows as SQLite reports them), while the example's app runs
 * in workerd through `wrangler dev`; and the example's bundle as wrangler builds it for upload.
 */
import { relayNamespace } from "../tests/support/durable.ts";
import { startSession } from "../tests/support/workerd.ts";
import type { ObjectStats } from "../src/storage/durable/object.ts";
import { bundle, type BundleSize } from "./workers.ts";

export interface DurableResult {
  readonly example: BundleSize;
  readonly requests: number;
  readonly seconds: number;
  /** For the requests: object requests (publishes) and rows written. */
  readonly traffic: { readonly objectRequests: number; readonly rowsWritten: number };
  /** For one scrape of /metrics. */
  readonly scrape: { readonly objectRequests: number; readonly rowsWritten: number };
  readonly flushWindowMs: number;
}

/** Measures `requests` requests spread evenly over `seconds`, then one scrape. */
export async function benchDurable(requests = 1000, seconds = 10): Promise<DurableResult> {
  const example = bundle("examples/workers-durable/wrangler.toml");
  const worker = await startSession(["tests/support/fixtures/durable/relay.toml"]);
  const namespace = relayNamespace(worker.url);
  const stats = async () => {
    const s = JSON.parse(await (await namespace.send("hono-prometheus", "stats")).text()) as ObjectStats;
    const served = Object.entries(s.requests).filter(([op]) => op !== "stats").reduce((sum, [, n]) => sum + n, 0);
    return { objectRequests: served, rowsWritten: s.rowsWritten };
  };
  const quiet = async () => {
    let last = await stats();
    let since = performance.now();
    while (performance.now() - since < 3_000) {
      await new Promise((r) => setTimeout(r, 200));
      const now = await stats();
      if (now.objectRequests !== last.objectRequests) [last, since] = [now, performance.now()];
    }
    return last;
  };
  const delta = (a: { objectRequests: number; rowsWritten: number }, b: typeof a) => ({
    objectRequests: b.objectRequests - a.objectRequests,
    rowsWritten: b.rowsWritten - a.rowsWritten,
  });
  try {
    await (await fetch(`${worker.url}/users/0`)).text(); // the first publish sends every descriptor
    const before = await quiet();
    const gapMs = (seconds * 1000) / requests;
    const started = performance.now();
    for (let i = 0; i < requests; i++) {
      const wait = started + i * gapMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await (await fetch(`${worker.url}/users/${i}`)).text();
    }
    const elapsed = (performance.now() - started) / 1000;
    const afterTraffic = await quiet();
    await (await fetch(`${worker.url}/metrics`)).text();
    const afterScrape = await quiet();
    return {
      example,
      requests,
      seconds: elapsed,
      traffic: delta(before, afterTraffic),
      scrape: delta(afterTraffic, afterScrape),
      flushWindowMs: 1000,
    };
  } finally {
    await worker.stop();
  }
}
