import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type RedisServer, startRedis } from "../support/redis.ts";
import { commandFor, RUNTIME } from "../support/runtime.ts";
import { sumOf } from "../support/sim.ts";
import { EXAMPLE_PORTS, reportedPorts, type Running, start } from "../support/spawn.ts";
import { type Gateway, startGateway } from "../support/upstash_gateway.ts";
import { load } from "../support/load.ts";
import { until } from "../support/poll.ts";

/** Scrapes until the request total is `expected`, or gives the last total after `timeoutMs`. */
async function settle(metricsUrl: string, expected: number, timeoutMs: number): Promise<number> {
  const until = Date.now() + timeoutMs;
  let total = -1;
  while (Date.now() < until) {
    const res = await fetch(metricsUrl).catch(() => undefined);
    if (res?.status === 200) total = sumOf(await res.text(), "hono_worker_requests_total");
    if (total === expected) return total;
    await new Promise((r) => setTimeout(r, 250));
  }
  return total;
}

describe(`the Upstash example on ${RUNTIME}, against a real Redis behind the REST gateway`, () => {
  let redis: RedisServer;
  let gateway: Gateway;
  const apps: Running[] = [];
  before(async () => {
    redis = await startRedis();
    gateway = await startGateway(redis.port);
  });
  after(async () => {
    for (const app of apps) await app.stop("SIGKILL");
    await gateway.stop();
    await redis.stop();
  });

  async function instance(prefix: string, token = gateway.token) {
    const [command, args] = commandFor("examples/upstash/app.ts");
    const app = await start(command, args, {
      PORT: "0",
      HOST: "127.0.0.1",
      PROMETHEUS_METRICS_PORT: "0",
      PROMETHEUS_BIND_ADDRESS: "127.0.0.1",
      UPSTASH_REDIS_REST_URL: gateway.url,
      UPSTASH_REDIS_REST_TOKEN: token,
      REDIS_KEY_PREFIX: prefix,
    }, EXAMPLE_PORTS);
    const [appPort, metricsPort] = reportedPorts(app, EXAMPLE_PORTS);
    apps.push(app);
    return { app, url: `http://127.0.0.1:${appPort}`, metrics: `http://127.0.0.1:${metricsPort}/metrics` };
  }

  test("two instances: either one's metrics show the exact sum; a 10 s outage fails no request and loses nothing", async () => {
    const a = await instance(`two-${RUNTIME}`);
    const b = await instance(`two-${RUNTIME}`);
    const first = await Promise.all([load(a.url, 120), load(b.url, 80)]);
    assert.deepEqual(first.map((r) => r.failed), [0, 0]);
    assert.equal(await settle(a.metrics, 200, 15_000), 200);
    assert.equal(await settle(b.metrics, 200, 15_000), 200);

    await gateway.setMode("down");
    const outageStarted = Date.now();
    let during = { ok: 0, failed: 0 };
    while (Date.now() - outageStarted < 10_000) {
      const [x, y] = await Promise.all([load(a.url, 30, 3), load(b.url, 20, 2)]);
      during = { ok: during.ok + x.ok + y.ok, failed: during.failed + x.failed + y.failed };
      await new Promise((r) => setTimeout(r, 200));
    }
    await gateway.setMode("up");
    assert.equal(during.failed, 0, "no app request failed during the outage");
    assert.ok(during.ok > 0);
    assert.equal(
      await settle(a.metrics, 200 + during.ok, 40_000),
      200 + during.ok,
      "everything arrived once storage was back",
    );
    const reports = a.app.output().split("\n").filter((l) => l.includes("publishing to upstash storage failed"));
    assert.equal(reports.length, 1, `one report per outage:\n${a.app.output()}`);
    assert.match(reports[0], /ECONNREFUSED|fetch failed|connect/i);
  });

  test("a wrong token: one clear error naming the setting, and the app keeps serving", async () => {
    const c = await instance(`token-${RUNTIME}`, "not-the-token");
    const result = await load(c.url, 50);
    assert.deepEqual(result, { ok: 50, failed: 0 });
    // The failure is reported once per outage: wait for the report, then for two more refused
    // publishes (the publisher retries with backoff), and there is still one report.
    const reports = () => c.app.output().split("\n").filter((l) => l.includes("publishing to upstash storage failed"));
    await until("the failed publish to be reported", () => reports().length > 0);
    const refused = gateway.unauthorized;
    await until("two more refused publishes", () => gateway.unauthorized >= refused + 2, 20_000, 50);
    const lines = reports();
    assert.equal(lines.length, 1, c.app.output());
    assert.match(lines[0], /refused the credentials: HTTP 401 \(Unauthorized\); check UPSTASH_REDIS_REST_TOKEN/);
    assert.doesNotMatch(c.app.output(), /not-the-token/);
  });
});
