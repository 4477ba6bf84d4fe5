import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { replaced, slotPids, startClusterExample, startParallelExample } from "../support/cluster.ts";
import { RUNTIME } from "../support/runtime.ts";
import { renderDirectory, sample, sumOf } from "../support/sim.ts";
import { load } from "../support/load.ts";
import { until } from "../support/poll.ts";

/** The number of requests answered 200 out of `n`. */
async function answeredOf(url: string, n: number, concurrency = 8, progress?: { answered: number }): Promise<number> {
  return (await load(url, n, concurrency, progress)).ok;
}

/**
 * Starts `n` requests and resolves once `first` of them are answered (the rest are in flight),
 * with the promise of how many are answered in all.
 */
async function underLoad(url: string, n: number, first: number): Promise<{ answered: Promise<number> }> {
  const progress = { answered: 0 };
  const answered = answeredOf(url, n, 4, progress);
  await until(`${first} of ${n} requests answered`, () => progress.answered >= first);
  return { answered };
}

test(
  RUNTIME === "deno"
    ? "the deno serve --parallel example: exact totals, and nothing lost on SIGTERM"
    : `the deno serve --parallel example (skipped on ${RUNTIME}: it runs Deno isolates, under the Deno runner)`,
  { skip: RUNTIME !== "deno" },
  async () => {
    const root = mkdtempSync(join(tmpdir(), "hpe-parallel-"));
    const dir = join(root, "metrics");
    const { app, url, metricsUrl } = await startParallelExample(dir, 3);
    try {
      let answered = await answeredOf(url, 300);
      assert.equal(answered, 300);
      const text = await (await fetch(metricsUrl)).text();
      assert.equal(sumOf(text, "hono_worker_requests_total"), 300);
      assert.equal(
        text.split("\n").filter((l) => /^hono_worker_state\{state="running",worker_id="worker_[123]"\} 1$/.test(l))
          .length,
        3,
      );
      const late = await underLoad(url, 200, 10);
      const code = await app.stop("SIGTERM");
      answered += await late.answered;
      assert.equal(code, 0, app.output());
      assert.equal(sumOf(await renderDirectory(dir), "hono_worker_requests_total"), answered);
      assert.equal(existsSync(join(dir, "slots")), false, "every isolate gave its slot file back");
    } finally {
      await app.stop("SIGKILL");
      rmSync(root, { recursive: true, force: true });
    }
  },
);

test(
  RUNTIME === "deno"
    ? "deno serve --parallel killed with SIGKILL and started again on the same directory: the totals carry on"
    : `deno serve --parallel after SIGKILL (skipped on ${RUNTIME}: it runs Deno isolates, under the Deno runner)`,
  { skip: RUNTIME !== "deno" },
  async () => {
    // Deno cannot kill or restart one isolate of a process (no supervisor, no restart counter):
    // the unit of failure is the whole process, and what it published must survive it.
    const root = mkdtempSync(join(tmpdir(), "hpe-parallel-kill-"));
    const dir = join(root, "metrics");
    const run = () => startParallelExample(dir, 2);
    const first = await run();
    try {
      assert.equal(await answeredOf(first.url, 300), 300);
      // Wait (with a deadline) until the periodic publishes carry all 300, then SIGKILL.
      for (const until = Date.now() + 10_000; Date.now() < until;) {
        if (sumOf(await renderDirectory(dir), "hono_worker_requests_total") === 300) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(sumOf(await renderDirectory(dir), "hono_worker_requests_total"), 300);
      await first.app.stop("SIGKILL");
      const second = await run();
      try {
        assert.equal(await answeredOf(second.url, 100), 100);
        assert.equal(second.app.child.exitCode, null);
        assert.equal(await second.app.stop("SIGTERM"), 0, second.app.output());
        assert.equal(sumOf(await renderDirectory(dir), "hono_worker_requests_total"), 400);
      } finally {
        await second.app.stop("SIGKILL");
      }
    } finally {
      await first.app.stop("SIGKILL");
      rmSync(root, { recursive: true, force: true });
    }
  },
);

const name = `the cluster example on ${RUNTIME}: exact totals through SIGKILL, TTIN/TTOU, HUP and SIGTERM`;
const skip = RUNTIME === "deno" ? "node:cluster workers; Deno runs the deno serve --parallel example above" : false;

test(skip ? `${name} (skipped on deno: ${skip})` : name, { skip }, async () => {
  const root = mkdtempSync(join(tmpdir(), "hpe-cluster-"));
  const dir = join(root, "metrics");
  const { app, url, metricsUrl } = await startClusterExample(dir, 3);
  const scrape = async () => await (await fetch(metricsUrl)).text();
  // Scrapes within a second share one collection; a fresh one shows one more storage read.
  const reads = (text: string) =>
    sample(text, 'hono_exporter_storage_latency_seconds_count{backend="filesystem",operation="read"}') ?? 0;
  const freshScrape = async () => {
    const seen = reads(await scrape());
    for (const until = Date.now() + 10_000; Date.now() < until;) {
      const text = await scrape();
      if (reads(text) > seen) return text;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail("no fresh collection within 10 s");
  };
  const running = (text: string) =>
    text.split("\n").filter((l) => /^hono_worker_state\{state="running",worker_id="worker_\d+"\} 1$/.test(l)).length;
  try {
    let answered = await answeredOf(url, 300);
    assert.equal(answered, 300);
    assert.equal(sumOf(await freshScrape(), "hono_worker_requests_total"), 300);

    // kill -9 of an idle worker, then 100 more requests: exactly 400, the restart counted.
    const [idlePid] = slotPids(app, "worker_2");
    process.kill(idlePid, "SIGKILL");
    await replaced(app, "worker_2", 1, 5000);
    answered += await answeredOf(url, 100);
    assert.equal(answered, 400);
    // Exact once every worker's values are in: the worker forked a moment ago may answer the
    // supervisor's flush after its deadline (flushDeadlineMs) on a loaded machine, and is then in
    // the next collection. Never more than what was answered.
    let text = await until("the 400 requests in a fresh collection", async () => {
      const fresh = await freshScrape();
      const total = sumOf(fresh, "hono_worker_requests_total");
      assert.ok(total <= 400, `${total} requests counted for 400 answered`);
      return total === 400 ? fresh : undefined;
    }, 15_000);
    assert.equal(sample(text, 'hono_master_worker_restarts_total{reason="SIGKILL"}'), 1);

    // SIGKILL one worker under load; scrape all along: no counter may ever go backwards.
    const [pid] = slotPids(app, "worker_1");
    const seen: number[] = [];
    let scraping = true;
    const scraper = (async () => {
      while (scraping) {
        seen.push(sumOf(await scrape(), "hono_worker_requests_total"));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const during = (await underLoad(url, 100, 10)).answered;
    const publishedBeforeKill = sumOf(await scrape(), "hono_worker_requests_total");
    process.kill(pid, "SIGKILL");
    answered += await during;
    const scrapedAtKill = seen.length;
    await until("five scrapes after the kill", () => seen.length >= scrapedAtKill + 5);
    scraping = false;
    await scraper;
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1], `scrape ${i} went backwards: ${seen}`);
    text = await freshScrape();
    assert.equal(sample(text, 'hono_master_worker_restarts_total{reason="SIGKILL"}'), 2);
    // What the killed worker answered after its last publish died with it; everything published stays.
    const afterKill = sumOf(text, "hono_worker_requests_total");
    assert.ok(afterKill >= publishedBeforeKill, `${afterKill} < ${publishedBeforeKill} published before the kill`);
    assert.ok(afterKill <= answered, `${afterKill} counted > ${answered} answered`);
    const lostToKill = answered - afterKill;

    // TTIN adds a worker, TTOU removes it; each signal is counted.
    const settle = async (workers: number, signal: string) => {
      for (let i = 0; i < 50; i++) {
        text = await scrape();
        if (running(text) === workers && sample(text, `hono_master_signals_total{signal="${signal}"}`) === 1) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail(`expected ${workers} running workers and ${signal} counted once:\n${text}`);
    };
    process.kill(app.child.pid!, "SIGTTIN");
    await settle(4, "TTIN");
    process.kill(app.child.pid!, "SIGTTOU");
    await settle(3, "TTOU");

    // SIGHUP: every worker is replaced gracefully; the totals carry on.
    const before = (app.output().match(/serving on/g) ?? []).length;
    process.kill(app.child.pid!, "SIGHUP");
    await settle(3, "HUP");
    for (let i = 0; i < 100 && (app.output().match(/serving on/g) ?? []).length < before + 3; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((app.output().match(/serving on/g) ?? []).length, before + 3, "three fresh workers");
    answered += await answeredOf(url, 50);
    assert.equal(sumOf(await freshScrape(), "hono_worker_requests_total"), answered - lostToKill);

    // SIGTERM under load: the supervisor stops every worker gracefully; nothing answered is lost.
    answered += await answeredOf(url, 100);
    const late = await underLoad(url, 100, 10);
    const code = await app.stop("SIGTERM");
    answered += await late.answered;
    assert.equal(code, 0, app.output());
    const total = sumOf(await renderDirectory(dir), "hono_worker_requests_total");
    assert.equal(total, answered - lostToKill, `counted ${total} of ${answered - lostToKill}:\n${app.output()}`);
  } finally {
    await app.stop("SIGKILL");
    rmSync(root, { recursive: true, force: true });
  }
});
