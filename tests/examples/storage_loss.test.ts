/**
 * Storage that loses everything, under a real Prometheus: two live instances on two runtimes and
 * a third that exited and was retired share one redis-server; Prometheus scrapes both live ones
 * every second. A FLUSHALL, then a kill and empty restart of redis-server: each time the aggregate
 * is exact again within seconds (the retired total put back), and Prometheus counts no reset.
 * And the cluster example's metrics directory removed and made again under it.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startClusterExample } from "../support/cluster.ts";
import { load } from "../support/load.ts";
import { until } from "../support/poll.ts";
import { startPrometheus } from "../support/prometheus.ts";
import { startRedis } from "../support/redis.ts";
import { RespClient } from "../support/resp.ts";
import { commandOn, OTHER_RUNTIME, RUNTIME } from "../support/runtime.ts";
import { sample } from "../support/sim.ts";
import { EXAMPLE_PORTS, reportedPorts, type Running, start } from "../support/spawn.ts";

const skip = RUNTIME === "node"
  ? false
  : "run once, from Node's suite (its instances run on Node and Bun whatever runs the tests)";

/** The app's requests an instance's /metrics shows (route /users/:id), or undefined when it does not answer 200. */
async function served(metrics: string): Promise<number | undefined> {
  const res = await fetch(metrics).catch(() => undefined);
  if (res?.status !== 200) {
    await res?.body?.cancel();
    return undefined;
  }
  let total = 0;
  for (const line of (await res.text()).split("\n")) {
    if (line.startsWith("hono_worker_requests_total{") && line.includes('route="/users/:id"')) {
      total += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return total;
}

test("FLUSHALL and an empty restart of redis-server: exact again within seconds, and zero resets in Prometheus", {
  skip,
  timeout: 180_000,
}, async () => {
  const redis = await startRedis();
  const running: Running[] = [];
  const instance = async (runtime: "node" | "bun") => {
    const [command, args] = commandOn(runtime, "tests/support/fixtures/loss_instance.ts");
    const app = await start(command, args, {
      REDIS_URL: `redis://127.0.0.1:${redis.port}/1`,
      REDIS_KEY_PREFIX: "loss",
    }, EXAMPLE_PORTS);
    running.push(app);
    const [appPort, metricsPort] = reportedPorts(app, EXAMPLE_PORTS);
    return { app, url: `http://127.0.0.1:${appPort}`, metricsPort, metrics: `http://127.0.0.1:${metricsPort}/metrics` };
  };
  let prometheus: Awaited<ReturnType<typeof startPrometheus>> | undefined;
  try {
    const gone = await instance("node");
    assert.equal((await load(gone.url, 30)).failed, 0);
    assert.equal(await gone.app.stop("SIGTERM"), 0, "the third instance exits, its counts published");
    const [a, b] = await Promise.all([instance("node"), instance(OTHER_RUNTIME)]);
    assert.deepEqual((await Promise.all([load(a.url, 100), load(b.url, 80)])).map((r) => r.failed), [0, 0]);
    let expected = 210;
    await until(
      "the exited instance to be retired and the aggregate exact",
      async () => {
        const text = await (await fetch(a.metrics)).text();
        const retired = sample(text, 'hono_exporter_retired_processes_total{backend="redis"}') ?? 0;
        return retired >= 1 && await served(a.metrics) === expected;
      },
      20_000,
      200,
    );

    prometheus = await startPrometheus(
      {
        scrapeConfigs: [
          "  - job_name: hono",
          "    static_configs:",
          `      - targets: ["127.0.0.1:${a.metricsPort}", "127.0.0.1:${b.metricsPort}"]`,
        ].join("\n"),
      },
      1000,
      800,
    );
    const scraped = async (total: number) => {
      const values = await prometheus!.query('sum by (instance) (hono_worker_requests_total{route="/users/:id"})');
      return values.length === 2 && values.every((v) => v === total);
    };
    await until(`Prometheus to hold ${expected} on both targets`, () => scraped(expected), 30_000, 250);

    const exactAgain = async (what: string) => {
      const started = performance.now();
      await until(
        `both instances exact again after ${what}`,
        async () => {
          const [x, y] = await Promise.all([served(a.metrics), served(b.metrics)]);
          return x === expected && y === expected;
        },
        30_000,
        50,
      );
      return Math.round(performance.now() - started);
    };

    const flush = await RespClient.connect(redis.port);
    await flush.send([["FLUSHALL"]]);
    flush.close();
    assert.deepEqual((await Promise.all([load(a.url, 20), load(b.url, 20)])).map((r) => r.failed), [0, 0]);
    expected += 40;
    const afterFlush = await exactAgain("FLUSHALL");
    await until(`Prometheus to hold ${expected} on both targets`, () => scraped(expected), 30_000, 250);

    await redis.restart(); // without persistence: it comes back empty
    assert.deepEqual((await Promise.all([load(a.url, 20), load(b.url, 20)])).map((r) => r.failed), [0, 0]);
    expected += 40;
    const afterRestart = await exactAgain("an empty restart");
    await until(`Prometheus to hold ${expected} on both targets`, () => scraped(expected), 30_000, 250);

    const resets = await prometheus.query('resets(hono_worker_requests_total{route="/users/:id"}[10m])');
    const bucketResets = await prometheus.query("resets(hono_worker_request_duration_seconds_count[10m])");
    assert.ok(resets.length >= 2, `Prometheus holds the request counters (${resets.length} series)`);
    assert.deepEqual([...new Set([...resets, ...bucketResets])], [0], "no counter reset, whichever instance is asked");
    console.log(`exact again after FLUSHALL in ${afterFlush} ms, after an empty restart in ${afterRestart} ms`);
  } finally {
    await prometheus?.stop();
    for (const app of running) await app.stop("SIGKILL");
    await redis.stop();
  }
});

test(`the ${RUNTIME} cluster example's metrics directory removed and made again: exact again within seconds`, async () => {
  const root = mkdtempSync(join(tmpdir(), "hpe-loss-cluster-"));
  const dir = join(root, "metrics");
  const { app, url, metricsUrl } = await startClusterExample(dir, 2);
  try {
    assert.equal((await load(url, 120)).failed, 0);
    await until("the aggregate to be exact", async () => await served(metricsUrl) === 120, 10_000, 100);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    assert.equal((await load(url, 60)).failed, 0);
    const started = performance.now();
    let last = 0;
    await until(
      "the aggregate to be exact again",
      async () => {
        const total = await served(metricsUrl);
        if (total === undefined) return false;
        assert.ok(total >= last, `a scrape served ${total} after ${last}`);
        last = total;
        return total === 180;
      },
      15_000,
      50,
    );
    console.log(`exact again ${Math.round(performance.now() - started)} ms after the directory was made again`);
  } finally {
    await app.stop("SIGTERM");
    rmSync(root, { recursive: true, force: true });
  }
});
