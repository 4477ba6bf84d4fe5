/**
 * The Workers example in the real Workers runtime: bundled by wrangler, run in workerd through
 * Miniflare (`wrangler dev`), offline, each instance a separate isolate, sharing one Upstash REST
 * endpoint (the test gateway over a real redis-server). The app has no publish code of its own.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { until } from "../support/poll.ts";
import { type RedisServer, startRedis } from "../support/redis.ts";
import { sample } from "../support/sim.ts";
import { type Gateway, startGateway } from "../support/upstash_gateway.ts";
import { type RunningWorker, startWorker, workerdSuite } from "../support/workerd.ts";

const METRICS_TOKEN = "scrape-token-for-tests-0123456789";
const USERS = 'hono_worker_requests_total{method="GET",route="/users/:id",status="200"}';
const ERRORS = 'hono_worker_failed_requests_total{error_type="Error",method="GET",route="/error"}';

// workerd is the runtime under test here, whatever runs the test file, so it runs once, under
// Node's runner; Bun and Deno skip it and say why.
const NAME = "the Workers example in workerd (wrangler dev, Miniflare)";
workerdSuite(NAME, suite);

async function scrape(worker: RunningWorker, token = METRICS_TOKEN): Promise<Response> {
  return await fetch(`${worker.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
}

/** Scrapes until `series` is `expected`; returns the last value seen by the deadline. */
async function settle(worker: RunningWorker, series: string, expected: number, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  let value: number | undefined;
  while (Date.now() < until) {
    const res = await scrape(worker);
    if (res.status === 200) value = sample(await res.text(), series);
    else await res.body?.cancel();
    if (value === expected) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  return value;
}

async function hit(worker: RunningWorker, path: string, times: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < times; i++) {
    const res = await fetch(`${worker.url}${path.replace(":i", String(i))}`);
    await res.body?.cancel();
    statuses.push(res.status);
  }
  return statuses;
}

function restRequests(gateway: Gateway): number {
  let total = 0;
  for (const n of gateway.requests.values()) total += n;
  return total;
}

function suite(): void {
  let redis: RedisServer;
  let gateway: Gateway;
  const workers: RunningWorker[] = [];
  const bindings = (prefix: string, extra: Record<string, string> = {}) => ({
    UPSTASH_REDIS_REST_URL: gateway.url,
    UPSTASH_REDIS_REST_TOKEN: gateway.token,
    REDIS_KEY_PREFIX: prefix,
    PROMETHEUS_METRICS_TOKEN: METRICS_TOKEN,
    ...extra,
  });
  const worker = async (vars: Record<string, string>, target?: string) => {
    const w = await startWorker(vars, target);
    workers.push(w);
    return w;
  };

  before(async () => {
    redis = await startRedis();
    gateway = await startGateway(redis.port);
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await gateway?.stop();
    await redis?.stop();
  });

  test("two isolates sharing one Upstash aggregate exactly, with no publish code in the app", async () => {
    const [a, b] = await Promise.all([worker(bindings("two")), worker(bindings("two"))]);
    assert.deepEqual(new Set(await hit(a, "/users/:i", 30)), new Set([200]));
    assert.deepEqual(new Set(await hit(b, "/users/:i", 20)), new Set([200]));
    assert.deepEqual(await hit(b, "/error", 4), [500, 500, 500, 500]);
    // Either isolate's /metrics shows both: each published its window after its responses.
    assert.equal(await settle(a, USERS, 50), 50);
    assert.equal(await settle(b, USERS, 50), 50);
    assert.equal(sample(await (await scrape(a)).text(), ERRORS), 4);
    for (const w of [a, b]) {
      assert.doesNotMatch(w.output(), /Disallowed operation|Uncaught|ConfigError|cross-context/);
    }
  });

  test("one isolate is exact, and its REST requests are bounded by flush windows, not by requests", async () => {
    const w = await worker(bindings("one"));
    // Warm up: the first publish and read load their scripts (a NOSCRIPT round trip each).
    await hit(w, "/users/:i", 1);
    assert.equal(await settle(w, USERS, 1), 1);
    const before = restRequests(gateway);
    const started = Date.now();
    const n = 300;
    // A steady rate for about three seconds: about 10 ms between requests.
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${w.url}/users/${i}`);
      await res.body?.cancel();
      await new Promise((r) => setTimeout(r, 10));
    }
    const elapsed = Date.now() - started;
    // Let the last window close and its publish land (the waitUntil holds the isolate meanwhile).
    const until = Date.now() + 5_000;
    let settled = restRequests(gateway);
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 300));
      const now = restRequests(gateway);
      if (now === settled && Date.now() - started > elapsed + 1_500) break;
      settled = now;
    }
    const rest = restRequests(gateway) - before;
    const windows = Math.ceil(elapsed / 1000) + 1;
    assert.ok(rest <= windows + 1, `${rest} REST requests for ${n} requests over ${elapsed} ms (${windows} windows)`);
    assert.ok(rest >= 1, "the isolate published");
    assert.equal(await settle(w, USERS, n + 1), n + 1);
    assert.doesNotMatch(w.output(), /cross-context|Uncaught/);
  });

  test("/metrics without the token is refused (401) before any storage read; without a token bound, 403", async () => {
    const locked = await worker(bindings("locked"));
    const before = restRequests(gateway);
    const anonymous = await fetch(`${locked.url}/metrics`);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get("www-authenticate") ?? "", /^Bearer/);
    const wrong = await scrape(locked, "not-the-token");
    assert.equal(wrong.status, 401);
    const body = await wrong.text();
    assert.match(body, /PROMETHEUS_METRICS_TOKEN/);
    assert.doesNotMatch(body, new RegExp(METRICS_TOKEN));
    assert.doesNotMatch(locked.output(), new RegExp(METRICS_TOKEN));
    assert.equal((await scrape(locked)).status, 200);

    const { PROMETHEUS_METRICS_TOKEN: _unset, ...noToken } = bindings("open");
    const open = await worker(noToken);
    const refused = await fetch(`${open.url}/metrics`);
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /PROMETHEUS_METRICS_TOKEN.*PROMETHEUS_METRICS_PUBLIC/s);
    // The anonymous scrapes cost no storage read; only the authorised one (a publish and a read).
    assert.ok(restRequests(gateway) - before <= 4, `${restRequests(gateway) - before} REST requests`);
  });

  test("a request through two middlewares counts once, and no request waits on another request's publish", async () => {
    const w = await worker(bindings("nested"), "tests/support/fixtures/workers_nested.ts");
    const users = '{method="GET",route="/api/users/:id",status="200"}';
    const ping = 'hono_worker_requests_total{method="GET",route="/other/ping",status="200"}';
    const atLeast = (series: string, least: number) => async () => {
      const res = await scrape(w);
      if (res.status !== 200) return void await res.body?.cancel();
      const text = await res.text();
      return (sample(text, series) ?? 0) >= least ? text : undefined;
    };
    // The scrape opens a flush window (the app's middleware records it and hands the publish to
    // it); the requests that follow in that window hand nothing, whichever middleware records them.
    const first = await scrape(w);
    assert.equal(first.status, 200);
    await first.body?.cancel();
    assert.deepEqual(await hit(w, "/api/users/:i", 3), [200, 200, 200]);
    assert.deepEqual(await hit(w, "/other/ping", 1), [200]);
    const text = await until(
      "the requests to /api/users/:id",
      atLeast(`hono_worker_requests_total${users}`, 3),
      15_000,
    );
    assert.equal(sample(text, `hono_worker_requests_total${users}`), 3);
    assert.equal(sample(text, `hono_worker_request_duration_seconds_count${users}`), 3);
    assert.equal(sample(text, ping), 1);
    // A later window's publish lands after every request of the first window has ended.
    assert.deepEqual(await hit(w, "/other/ping", 1), [200]);
    const later = await until("the second /other/ping", atLeast(ping, 2), 15_000);
    assert.equal(sample(later, ping), 2);
    assert.equal(sample(later, `hono_worker_requests_total${users}`), 3);
    assert.doesNotMatch(w.output(), /IoContext dropped|cross-context|Uncaught/);
  });

  test("a second exporter and a second middleware in one isolate do not throw and count once", async () => {
    const w = await worker(bindings("double"), "tests/support/fixtures/workers_double.ts");
    assert.deepEqual(await hit(w, "/api/users/:i", 6), [200, 200, 200, 200, 200, 200]);
    const ping = await fetch(`${w.url}/second/ping`);
    assert.equal(await ping.text(), "same exporter");
    assert.equal(
      await settle(w, 'hono_worker_requests_total{method="GET",route="/api/users/:id",status="200"}', 6),
      6,
    );
    const text = await (await scrape(w)).text();
    assert.equal(sample(text, 'hono_worker_requests_total{method="GET",route="/second/ping",status="200"}'), 1);
    assert.doesNotMatch(w.output(), /already registered|Uncaught/);
  });
}
