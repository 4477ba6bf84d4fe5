import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { load } from "../support/load.ts";
import { slotPids, startClusterExample } from "../support/cluster.ts";
import { RUNTIME } from "../support/runtime.ts";
import { sample, sumOf } from "../support/sim.ts";

const name = `SIGQUIT to a supervised worker on ${RUNTIME}: it publishes everything (state aborting) before it dies`;
const skip = RUNTIME === "deno" ? "node:cluster workers; Deno runs the deno serve --parallel example" : false;

test(skip ? `${name} (skipped on deno: ${skip})` : name, { skip }, async () => {
  const root = mkdtempSync(join(tmpdir(), "hpe-sigquit-"));
  const { app, url, metricsUrl } = await startClusterExample(join(root, "metrics"), 2);
  try {
    const { ok } = await load(url, 200, 4);
    assert.equal(ok, 200);
    const [pid] = slotPids(app, "worker_1");
    process.kill(pid, "SIGQUIT");
    let text = "";
    for (const until = Date.now() + 15_000; Date.now() < until;) {
      text = await (await fetch(metricsUrl)).text();
      if (sample(text, 'hono_master_worker_restarts_total{reason="exit_1"}') === 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(sample(text, 'hono_master_worker_restarts_total{reason="exit_1"}'), 1, text);
    // No scrape asked the killed worker to publish after the load: its own SIGQUIT handler did.
    assert.equal(sumOf(text, "hono_worker_requests_total"), 200);
  } finally {
    await app.stop("SIGKILL");
    rmSync(root, { recursive: true, force: true });
  }
});
