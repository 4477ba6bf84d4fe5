/** The test gateway, checked with @upstash/redis itself against a real redis-server. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "@upstash/redis";
import { type Gateway, startGateway } from "../support/upstash_gateway.ts";
import { type RedisServer, startRedis } from "../support/redis.ts";

describe("the Upstash REST gateway used by the tests", () => {
  let redisServer: RedisServer;
  let gateway: Gateway;
  let redis: Redis;
  before(async () => {
    redisServer = await startRedis();
    gateway = await startGateway(redisServer.port);
    redis = new Redis({ url: gateway.url, token: gateway.token, retry: false, enableTelemetry: false });
  });
  after(async () => {
    await gateway.stop();
    await redisServer.stop();
  });

  test("strings, numbers and unicode survive the base64 encoding", async () => {
    assert.equal(await redis.set("greeting", "héllo wörld ✓"), "OK");
    assert.equal(await redis.get("greeting"), "héllo wörld ✓");
    assert.equal(await redis.incrby("n", 41), 41);
    assert.equal(await redis.incr("n"), 42);
    assert.equal(await redis.get("missing"), null);
  });

  test("hashes and sorted sets", async () => {
    await redis.hset("h", { a: "1", b: "two" });
    assert.deepEqual(await redis.hgetall("h"), { a: 1, b: "two" });
    await redis.zadd("z", { score: 2, member: "b" }, { score: 1, member: "a" });
    assert.deepEqual(await redis.zrange("z", 0, -1), ["a", "b"]);
  });

  test("scripts", async () => {
    const result = await redis.eval("return {KEYS[1], ARGV[1], 7}", ["k"], ["v"]);
    assert.deepEqual(result, ["k", "v", 7]);
  });

  test("pipelines and transactions, with an error in the middle of a pipeline", async () => {
    const p = redis.pipeline();
    p.set("p1", "x");
    p.incr("p1");
    p.get("p1");
    await assert.rejects(p.exec(), /ERR value is not an integer/);
    const q = redis.pipeline();
    q.set("p2", "5");
    q.incr("p2");
    assert.deepEqual(await q.exec(), ["OK", 6]);
    const tx = redis.multi();
    tx.set("t", "1");
    tx.incr("t");
    assert.deepEqual(await tx.exec(), ["OK", 2]);
  });

  test("errors: a failed command, a wrong token (401), an injected 5xx and a refused connection", async () => {
    await redis.set("s", "text");
    await assert.rejects(redis.incr("s"), /ERR value is not an integer/);
    const wrong = new Redis({ url: gateway.url, token: "wrong", retry: false, enableTelemetry: false });
    await assert.rejects(wrong.get("s"), /Unauthorized/);
    await gateway.setMode("5xx");
    await assert.rejects(redis.get("s"), /Service Unavailable/);
    await gateway.setMode("down");
    await assert.rejects(redis.get("s"));
    await gateway.setMode("up");
    assert.equal(await redis.get("s"), "text");
  });
});
