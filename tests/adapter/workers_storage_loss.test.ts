/**
 * Storage loss and a storage that never answers, in the real Workers runtime (wrangler dev,
 * workerd): isolates notice a FLUSHALL behind the Upstash REST endpoint at their next flush window
 * and publish their whole state again; a scrape carrying Prometheus's timeout answers 503 before
 * it when the endpoint accepts connections and never answers.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { until } from "../support/poll.ts";
import { type RedisServer, startRedis } from "../support/redis.ts";
import { RespClient } from "../support/resp.ts";
import { RUNTIME } from "../support/runtime.ts";
import { type SilentListener, startSilentListener } from "../support/silent.ts";
import { sample } from "../support/sim.ts";
import { type Gateway, startGateway } from "../support/upstash_gateway.ts";
import { type RunningWorker, startWorker } from "../support/workerd.ts";

const TOKEN = "scrape-token-for-tests-0123456789";
const USERS = 'hono_worker_requests_total{method="GET",route="/users/:id",status="200"}';
const NAME = "storage loss in workerd (wrangler dev, Miniflare)";

// workerd is what is under test, whatever runs the file: it runs once, under Node's runner.
if (RUNTIME === "node") describe(NAME, suite);
else test(`${NAME} (skipped on ${RUNTIME}: it runs once, under the Node runner)`, { skip: true }, () => {});

function suite(): void {
  let redis: RedisServer;
  let gateway: Gateway;
  const workers: RunningWorker[] = [];
  let silent: SilentListener;
  before(async () => {
    redis = await startRedis();
    gateway = await startGateway(redis.port);
    silent = await startSilentListener();
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await silent?.stop();
    await gateway?.stop();
    await redis?.stop();
  });
  const worker = async (url: string, prefix: string) => {
    const w = await startWorker({
      UPSTASH_REDIS_REST_URL: url,
      UPSTASH_REDIS_REST_TOKEN: gateway.token,
      REDIS_KEY_PREFIX: prefix,
      PROMETHEUS_METRICS_TOKEN: TOKEN,
    });
    workers.push(w);
    return w;
  };
  const scrape = (w: RunningWorker, headers: Record<string, string> = {}) =>
    fetch(`${w.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}`, ...headers } });
  const hit = async (w: RunningWorker, times: number) => {
    for (let i = 0; i < times; i++) {
      const res = await fetch(`${w.url}/users/${i}`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
  };
  /** Scrapes until USERS is `expected`, failing if a 200 ever shows less than one before it. */
  const exactAgain = async (w: RunningWorker, expected: number) => {
    let last = 0;
    await until(
      `${USERS} to be ${expected}`,
      async () => {
        const res = await scrape(w);
        if (res.status !== 200) return void await res.body?.cancel();
        const value = sample(await res.text(), USERS) ?? 0;
        assert.ok(value >= last, `a scrape served ${value} after ${last}`);
        last = value;
        return value === expected;
      },
      20_000,
      100,
    );
  };

  test("FLUSHALL behind the endpoint: two isolates publish their whole state again at their next window", async () => {
    const [a, b] = await Promise.all([worker(gateway.url, "loss"), worker(gateway.url, "loss")]);
    await hit(a, 30);
    await hit(b, 20);
    await exactAgain(a, 50);
    const client = await RespClient.connect(redis.port);
    await client.send([["FLUSHALL"]]);
    client.close();
    await hit(a, 3);
    await hit(b, 2);
    await exactAgain(a, 55);
    await exactAgain(b, 55);
    // The first isolate to notice puts back the other as it last read it; the other then finds its
    // record as it left it, so only the first may have anything to say.
    const said = [a, b].flatMap((w) => w.output().split("\n").filter((l) => /upstash storage had lost/.test(l)));
    assert.ok(said.length >= 1 && said.length <= 2, said.join("\n"));
    for (const w of [a, b]) assert.doesNotMatch(w.output(), /Uncaught|IoContext dropped|cross-context/);
  });

  test("an endpoint that never answers: a scrape with a 2 s timeout answers 503 within 2.5 s", async () => {
    const w = await worker(`http://127.0.0.1:${silent.port}`, "silent");
    for (let i = 0; i < 2; i++) {
      const started = performance.now();
      const res = await scrape(w, { "X-Prometheus-Scrape-Timeout-Seconds": "2" });
      const ms = performance.now() - started;
      assert.equal(res.status, 503);
      assert.match(await res.text(), /no answer from \w+:\/\/127\.0\.0\.1:\d+(\/\d+)? within 1800 ms/);
      assert.ok(ms <= 2500, `answered after ${Math.round(ms)} ms`);
    }
  });
}
