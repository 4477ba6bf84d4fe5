import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "@upstash/redis";
import { Hono } from "hono";
import { createExporter, prometheus, Registry } from "../../mod.ts";
import { ConfigError } from "../../src/core/errors.ts";
import { createExporterFor } from "../../src/adapter/factory.ts";
import { webRuntime } from "../../src/core/runtime.ts";
import { UpstashStorage } from "../../src/storage/upstash.ts";
import { deleteKeys, type RedisServer, startRedis } from "../support/redis.ts";
import { type Gateway, startGateway } from "../support/upstash_gateway.ts";
import { testStorage } from "./conformance.ts";
import { TestClock } from "../support/clock.ts";
import { sample, SimProcess, testCollector } from "../support/sim.ts";

let redisServer: RedisServer;
let gateway: Gateway;
let prefixes = 0;
before(async () => {
  redisServer = await startRedis();
  gateway = await startGateway(redisServer.port);
});
after(async () => {
  await gateway?.stop();
  await redisServer?.stop();
});

// Each conformance test gets its own key prefix in the one real Redis.
testStorage(
  "upstash",
  ({ tombstoneTtlMs }) =>
    new UpstashStorage({ url: gateway.url, token: gateway.token, keyPrefix: `conf${++prefixes}`, tombstoneTtlMs }),
  {
    tombstoneClock: "server",
    publishAndRead: true,
    retiredInAnswers: true,
    loseEverything: async (s) => void await deleteKeys(redisServer.port, `${(s as UpstashStorage).keyPrefix}:*`),
  },
);

describe("upstash storage", () => {
  test("works with a Redis client of the user's, automatic deserialization on", async () => {
    const redis = new Redis({ url: gateway.url, token: gateway.token, retry: false, enableTelemetry: false });
    const s = new UpstashStorage({ redis, keyPrefix: "user-client" });
    const descriptors = new Map([["c_total", { type: "counter" as const, help: "c" }]]);
    await s.publish({
      processId: "a",
      heartbeat: 5,
      exited: false,
      descriptors,
      series: new Map([["c_total", "12"], ['c_total{x="1"}', "1e+21"]]),
    });
    const [p] = (await s.read()).processes;
    assert.equal(p.series.get("c_total"), "12");
    assert.equal(p.series.get('c_total{x="1"}'), "1e+21");
    assert.deepEqual((await s.read()).descriptors.get("c_total"), { type: "counter", help: "c" });
  });

  test("one REST request per publish and per read, whatever the number of processes", async () => {
    const s = new UpstashStorage({ url: gateway.url, token: gateway.token, keyPrefix: "cost" });
    const descriptors = new Map([["c_total", { type: "counter" as const, help: "c" }]]);
    for (let i = 0; i < 20; i++) {
      await s.publish({
        processId: `p${i}`,
        heartbeat: 1,
        exited: false,
        descriptors,
        series: new Map([["c_total", "1"]]),
      });
    }
    const count = () => [...gateway.requests.values()].reduce((a, b) => a + b, 0);
    let before = count();
    await s.publish({
      processId: "p0",
      heartbeat: 2,
      exited: false,
      descriptors: new Map(),
      series: new Map([["c_total", "2"]]),
    });
    assert.equal(count() - before, 1);
    before = count();
    const state = await s.read();
    assert.equal(count() - before, 1);
    assert.equal(state.processes.length, 20);
  });

  test("a scrape costs 1 REST request, and 2 when it retires a dead process", async () => {
    const count = () => [...gateway.requests.values()].reduce((a, b) => a + b, 0);
    let now = Date.now();
    const scenario = async (keyPrefix: string) => {
      const storage = new UpstashStorage({ url: gateway.url, token: gateway.token, keyPrefix });
      const dead = new SimProcess(storage, new TestClock(now - 600_000));
      dead.requests.inc({ route: "/" }, 3);
      await dead.publish(); // ten minutes ago: dead
      const registry = new Registry();
      return createExporterFor(webRuntime, {
        registry,
        storage,
        metricsServer: false,
        minScrapeIntervalMs: 0,
        clock: () => now,
      });
    };
    // The first use of each script costs one more request (EVALSHA, then EVAL): load them first.
    const warm = await scenario("scrape-cost-warm");
    await warm.scrape(new Request("http://x/metrics"));
    await warm.onExit();
    const exporter = await scenario("scrape-cost");
    const scrape = async () => {
      const before = count();
      const text = await (await exporter.scrape(new Request("http://x/metrics"))).text();
      return { text, requests: count() - before };
    };
    const first = await scrape();
    assert.equal(sample(first.text, 'app_requests_total{route="/"}'), 3);
    assert.equal(first.requests, 2, "this process's publish and the read in one request, then the retirement");
    now += 1000;
    const second = await scrape();
    assert.equal(sample(second.text, 'app_requests_total{route="/"}'), 3, "the retired total holds it");
    assert.equal(second.requests, 1);
    await exporter.onExit();
  });

  test("a first publish of 6000 series fits one request", async () => {
    const s = new UpstashStorage({ url: gateway.url, token: gateway.token, keyPrefix: "wide" });
    const series = new Map(Array.from({ length: 6000 }, (_, i) => [`c_total{i="${i}"}`, String(i)]));
    await s.publish({
      processId: "a",
      heartbeat: 1,
      exited: false,
      descriptors: new Map([["c_total", { type: "counter" as const, help: "c" }]]),
      series,
    });
    assert.equal((await s.read()).processes[0].series.size, 6000);
  });

  test("bad settings are errors that name the variable; the token never appears in an error", async () => {
    assert.throws(
      () => new UpstashStorage({ url: gateway.url, token: "t", keyPrefix: "a:*" }),
      (e: unknown) => e instanceof ConfigError && /REDIS_KEY_PREFIX/.test(e.message),
    );
    assert.throws(() => new UpstashStorage({ token: "t" }), /UPSTASH_REDIS_REST_URL: is not set/);
    assert.throws(() => new UpstashStorage({ url: gateway.url }), /UPSTASH_REDIS_REST_TOKEN: is not set/);
    const secret = "super-secret-token-123";
    const s = new UpstashStorage({ url: gateway.url, token: secret, keyPrefix: "auth" });
    const error = await s.read().then(() => undefined, (e: unknown) => e as Error);
    assert.ok(error, "a wrong token fails");
    assert.match(
      error.message,
      /upstash storage: http:\/\/127\.0\.0\.1:\d+ refused the credentials: HTTP 401 \(Unauthorized\); check UPSTASH_REDIS_REST_TOKEN/,
    );
    assert.doesNotMatch(`${error.message} ${String(error.cause)}`, new RegExp(secret));
  });

  test("two collectors scraping at the same moment retire a dead process once; a mistaken retirement counts nothing twice", async () => {
    const clock = new TestClock(Date.now());
    const storage = new UpstashStorage({ url: gateway.url, token: gateway.token, keyPrefix: "retire-e2e" });
    const a = new SimProcess(storage, clock);
    const b = new SimProcess(storage, clock);
    a.requests.inc({ route: "/" }, 5);
    b.requests.inc({ route: "/" }, 2);
    await a.publish();
    await b.publish();
    clock.advance(61_000);
    await b.publish(); // b stays alive, a looks dead
    let retired = 0;
    const collector = () => testCollector(storage, clock, 10_000, 60_000, { retired: (n) => (retired += n) });
    const texts = await Promise.all([collector().render("prometheus"), collector().render("prometheus")]);
    assert.equal(retired, 1);
    for (const text of texts) assert.equal(sample(text, 'app_requests_total{route="/"}'), 7);
    // a was only paused: it publishes again, under a new incarnation, and nothing is counted twice.
    a.requests.inc({ route: "/" }, 3);
    await a.publish();
    assert.equal(sample(await collector().render("prometheus"), 'app_requests_total{route="/"}'), 10);
    assert.equal(retired, 1);
  });

  test("a garbled value in either copy of the retired total loses no count, and blocks no later retirement", async () => {
    const clock = new TestClock(Date.now());
    const storage = new UpstashStorage({ url: gateway.url, token: gateway.token, keyPrefix: "retired-copy" });
    const redis = new Redis({ url: gateway.url, token: gateway.token, retry: false, enableTelemetry: false });
    const [a, b, c] = [new SimProcess(storage, clock), new SimProcess(storage, clock), new SimProcess(storage, clock)];
    a.requests.inc({ route: "/" }, 5);
    b.requests.inc({ route: "/" }, 2);
    c.requests.inc({ route: "/" }, 1);
    for (const p of [a, b, c]) await p.publish();
    clock.advance(61_000);
    await b.publish();
    await c.publish();
    const series = 'app_requests_total{route="/"}';
    const total = async () => sample(await testCollector(storage, clock).render("prometheus"), series);
    assert.equal(await total(), 8); // a retired
    await redis.hset("retired-copy:retired", { [series]: "garbage" });
    assert.equal(await total(), 8, "the copy holds the value");
    clock.advance(61_000);
    await c.publish();
    assert.equal(await total(), 8, "b retired, folded onto the copy's value");
    await redis.hset("retired-copy:retired:copy", { [series]: "garbage" });
    assert.equal(await total(), 8, "the first copy was rewritten by that retirement");
  });

  test("app requests cause no REST request; only publishes and scrapes do", async () => {
    const storage = new UpstashStorage({ url: gateway.url, token: gateway.token, keyPrefix: "no-request-path" });
    const exporter = createExporter({ registry: new Registry(), storage, metricsServer: false });
    const app = new Hono();
    app.use(prometheus({ exporter }));
    app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
    const count = () => [...gateway.requests.values()].reduce((a, b) => a + b, 0);
    await exporter.flush();
    const before = count();
    for (let i = 0; i < 1000; i++) assert.equal((await app.request(`/users/${i}`)).status, 200);
    assert.equal(count() - before, 0, "the request path never touches storage");
    await exporter.flush();
    assert.equal(count() - before, 1);
    assert.equal(
      sample(await exporter.collect(), 'hono_worker_requests_total{method="GET",route="/users/:id",status="200"}'),
      1000,
    );
  });

  test("a hanging gateway times out and a 5xx fails, each with a message that names the cause", async () => {
    const storage = new UpstashStorage({
      url: gateway.url,
      token: gateway.token,
      keyPrefix: "outages",
      timeoutMs: 300,
    });
    try {
      await gateway.setMode("hang");
      const started = Date.now();
      await assert.rejects(storage.read(), /upstash storage: timed out after 300 ms waiting for an answer from http:/);
      assert.ok(Date.now() - started < 3000, "bounded by timeoutMs");
      await gateway.setMode("5xx");
      await assert.rejects(storage.read(), /upstash storage: http:\S+ answered HTTP 503 \(Service Unavailable/);
    } finally {
      await gateway.setMode("up");
    }
    assert.equal((await storage.read()).processes.length, 0);
  });
});
