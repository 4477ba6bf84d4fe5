/**
 * What a SIGKILL costs on one host: the Node cluster example (2 workers, filesystem backend, the
 * default publish interval) under steady load from a JavaScript generator that counts every
 * answer; each round kills one worker with no scrape in the meantime (so no scrape-time flush
 * helps), then compares what was answered with what the aggregate counts. Also the scrape latency
 * right after a kill, against the scrape latency of the same server before it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { replaced, slotPids, startClusterExample } from "../tests/support/cluster.ts";
import { sumOf } from "../tests/support/sim.ts";

export interface SigkillResult {
  readonly kills: number;
  /** Requests answered but never counted, per kill. */
  readonly lostPerKill: number[];
  /** The killed worker's traffic before each kill, requests per second (counted by the answers it signed). */
  readonly killedRps: number[];
  readonly publishIntervalMs: number;
  /** Median scrape latency before the kills, in ms. */
  readonly scrapeMsBefore: number;
  /** Latency of the first scrape right after each kill, in ms. */
  readonly scrapeMsAfterKill: number[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchSigkill(kills = 5, loadSeconds = 3): Promise<SigkillResult> {
  const root = mkdtempSync(join(tmpdir(), "hpe-bench-sigkill-"));
  // Under the Node runner (`npm run bench`), this is the Node cluster example.
  const { app, url, metricsUrl: metrics } = await startClusterExample(join(root, "metrics"), 2);
  const timedScrape = async () => {
    const t0 = performance.now();
    const text = await (await fetch(metrics, { signal: AbortSignal.timeout(5000) })).text();
    return { ms: performance.now() - t0, text };
  };
  let answered = 0;
  const bySlot = new Map<string, number>();
  const loadFor = async (ms: number) => {
    const until = Date.now() + ms;
    await Promise.all(Array.from({ length: 4 }, async (_, lane) => {
      for (let i = 0; Date.now() < until; i++) {
        try {
          // A request to a worker killed mid-answer may never end: give up after a second.
          const res = await fetch(`${url}/users/${lane}-${i}`, {
            signal: AbortSignal.timeout(1000),
          });
          if (res.ok) {
            answered++;
            const { worker } = await res.json() as { worker: string };
            bySlot.set(worker, (bySlot.get(worker) ?? 0) + 1);
          }
        } catch {
          // a connection to the worker just killed
        }
      }
    }));
  };
  try {
    const before: number[] = [];
    for (let i = 0; i < 9; i++) before.push((await timedScrape()).ms);
    const lostPerKill: number[] = [];
    const afterKill: number[] = [];
    let lostSoFar = 0;
    const killedRps: number[] = [];
    for (let kill = 0; kill < kills; kill++) {
      const slot = `worker_${1 + (kill % 2)}`;
      const t0 = Date.now();
      const before = bySlot.get(slot) ?? 0;
      const load = loadFor(loadSeconds * 1000);
      await new Promise((r) => setTimeout(r, loadSeconds * 1000 - 200)); // mid-load, not at a boundary
      const pids = slotPids(app, slot);
      process.kill(pids[pids.length - 1], "SIGKILL");
      killedRps.push(((bySlot.get(slot) ?? 0) - before) / ((Date.now() - t0) / 1000));
      afterKill.push((await timedScrape()).ms);
      await load;
      await replaced(app, slot, pids.length);
      // Scrapes ask the living workers to publish; scrapes within a second share one collection,
      // so the total is read until two collections a second apart agree: what is still missing
      // then died with the killed worker.
      let total = -1;
      for (let tries = 0; tries < 20; tries++) {
        await new Promise((r) => setTimeout(r, 1100));
        const now = sumOf((await timedScrape()).text, "hono_worker_requests_total");
        if (now === total) break;
        total = now;
      }
      const lost = answered - total - lostSoFar;
      lostPerKill.push(lost);
      lostSoFar += lost;
    }
    return {
      kills,
      lostPerKill,
      killedRps,
      publishIntervalMs: 1000,
      scrapeMsBefore: median(before),
      scrapeMsAfterKill: afterKill,
    };
  } finally {
    await app.stop("SIGKILL");
    rmSync(root, { recursive: true, force: true });
  }
}
