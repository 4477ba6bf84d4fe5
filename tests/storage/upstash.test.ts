/**
 * The Upstash backend through a REST gateway over a real redis-server: the shared storage suite
 * (round trips counted as the gateway's requests), then what only Upstash has: a Redis client of
 * the user's, the settings and the token, and the REST endpoint's failures.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "@upstash/redis";
import { ConfigError } from "../../src/core/errors.ts";
import { UpstashStorage } from "../../src/storage/upstash.ts";
import { type RedisServer, startRedis } from "../support/redis.ts";
import { type Gateway, startGateway } from "../support/upstash_gateway.ts";
import { testStorage } from "./conformance.ts";
import { redisCapabilities } from "./redis_capabilities.ts";

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

// Each conformance test gets its own key prefix in the one real Redis; a round trip is a REST request.
testStorage(
  "upstash",
  ({ tombstoneTtlMs }) =>
    new UpstashStorage({ url: gateway.url, token: gateway.token, keyPrefix: `conf${++prefixes}`, tombstoneTtlMs }),
  {
    tombstoneClock: "server",
    publishAndRead: true,
    retiredInAnswers: true,
    ...redisCapabilities({
      ports: () => [redisServer.port],
      db: 0,
      base: (s) => (s as UpstashStorage).keyPrefix,
    }),
    roundTrips: () => Promise.resolve([...gateway.requests.values()].reduce((a, b) => a + b, 0)),
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
