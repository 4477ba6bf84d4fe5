/**
 * Soak: a real Prometheus scrapes the cluster example every second (timeout 500 ms) while it
 * serves steady load and a worker is killed with SIGKILL every few seconds. Asked through
 * Prometheus' HTTP API afterwards: no counter or histogram series ever reset, and `up` never
 * dropped to 0.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { startPrometheus } from "../support/prometheus.ts";
import { replaced, slotPids, startClusterExample } from "../support/cluster.ts";
import { RUNTIME } from "../support/runtime.ts";

const KILLS = 5;
const KILL_EVERY_MS = 5000;

const name = `soak on ${RUNTIME}: Prometheus sees no counter reset and up == 1 throughout ${KILLS} SIGKILLs under load`;
const skip = RUNTIME === "deno" ? "node:cluster workers; a Deno isolate cannot be killed alone" : false;

test(skip ? `${name} (skipped on deno: ${skip})` : name, { skip }, async () => {
  const root = mkdtempSync(join(tmpdir(), "hpe-soak-"));
  const { app, url, metricsPort } = await startClusterExample(join(root, "metrics"), 2);
  const prometheus = await startPrometheus(`127.0.0.1:${metricsPort}`, 1000, 500);
  const started = Date.now();
  let loading = true;
  let answered = 0;
  const load = Promise.all(Array.from({ length: 4 }, async (_, lane) => {
    for (let i = 0; loading; i++) {
      try {
        // A request to a worker killed mid-answer may never end: give up on it after a second.
        const res = await fetch(`${url}/users/${lane}-${i}`, {
          signal: AbortSignal.timeout(1000),
        });
        await res.arrayBuffer();
        if (res.ok) answered++;
      } catch {
        // the connection of a killed worker
      }
    }
  }));
  try {
    for (let kill = 0; kill < KILLS; kill++) {
      await new Promise((r) => setTimeout(r, KILL_EVERY_MS));
      const slot = `worker_${1 + (kill % 2)}`;
      const pids = slotPids(app, slot);
      process.kill(pids[pids.length - 1], "SIGKILL");
      await replaced(app, slot, pids.length); // the supervisor forks a replacement: it serves
    }
    // A few more scrapes after the last kill (polled through Prometheus, with a deadline).
    const scraped = async () => (await prometheus.query("count_over_time(up[10m])"))[0] ?? 0;
    const afterLastKill = await scraped();
    for (const until = Date.now() + 15_000; Date.now() < until && (await scraped()) < afterLastKill + 3;) {
      await new Promise((r) => setTimeout(r, 200));
    }
    loading = false;
    await load;
    const window = `${Math.ceil((Date.now() - started) / 1000) + 5}s`;
    const scrapes = await prometheus.query(`count_over_time(up[${window}])`);
    assert.ok(scrapes[0] >= KILLS * KILL_EVERY_MS / 1000 - 2, `Prometheus scraped ${scrapes[0]} times`);
    assert.deepEqual(await prometheus.query(`min_over_time(up[${window}])`), [1], "a scrape failed or timed out");
    const monotonic = (await prometheus.names()).filter((n) => /^hono_.*(_total|_count|_bucket)$/.test(n));
    assert.ok(monotonic.includes("hono_worker_requests_total"), monotonic.join(", "));
    for (const metric of monotonic) {
      const [resets] = await prometheus.query(`sum(resets(${metric}[${window}]))`);
      assert.equal(resets, 0, `${metric} went backwards ${resets} time(s)`);
    }
    const restarts = await prometheus.query(`sum(hono_master_worker_restarts_total)`);
    assert.deepEqual(restarts, [KILLS]);
    const counted = await prometheus.query(`sum(hono_worker_requests_total)`);
    assert.ok(counted[0] > 0 && counted[0] <= answered, `${counted[0]} counted, ${answered} answered`);
  } finally {
    loading = false;
    await load;
    await prometheus.stop();
    await app.stop("SIGKILL");
    rmSync(root, { recursive: true, force: true });
  }
});
