/**
 * Deno Deploy-style: the Upstash example under `deno run --allow-net --allow-env` only (no file
 * system, no subprocess, no system information). Two instances aggregate exactly through Upstash
 * (the test gateway over a real redis-server), and nothing fails for want of a permission.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { after, before, test } from "node:test";
import { load } from "../support/load.ts";
import { type RedisServer, startRedis } from "../support/redis.ts";
import { RUNTIME } from "../support/runtime.ts";
import { sample } from "../support/sim.ts";
import { type Running, start } from "../support/spawn.ts";
import { type Gateway, startGateway } from "../support/upstash_gateway.ts";

const NAME = "the Upstash example under deno run --allow-net --allow-env: two instances aggregate exactly";
const USERS = 'hono_worker_requests_total{method="GET",route="/users/:id",status="200"}';

if (RUNTIME !== "deno") {
  test(`${NAME} (skipped on ${RUNTIME}: it runs Deno with restricted permissions, under the Deno runner)`, {
    skip: true,
  }, () => {});
} else {
  let redis: RedisServer;
  let gateway: Gateway;
  const apps: Running[] = [];
  before(async () => {
    redis = await startRedis();
    gateway = await startGateway(redis.port);
  });
  after(async () => {
    for (const app of apps) await app.stop("SIGKILL");
    await gateway?.stop();
    await redis?.stop();
  });

  const instance = async () => {
    const app = await start(process.execPath, ["run", "--allow-net", "--allow-env", "examples/upstash/app.ts"], {
      PORT: "0",
      HOST: "127.0.0.1",
      PROMETHEUS_METRICS_PORT: "0",
      PROMETHEUS_BIND_ADDRESS: "127.0.0.1",
      UPSTASH_REDIS_REST_URL: gateway.url,
      UPSTASH_REDIS_REST_TOKEN: gateway.token,
      REDIS_KEY_PREFIX: "deploy",
    }, /app listening on :\d+; metrics of every instance on :\d+/);
    apps.push(app);
    const [, appPort, metricsPort] = /app listening on :(\d+); metrics of every instance on :(\d+)/.exec(app.output())!;
    return { app, url: `http://127.0.0.1:${appPort}`, metrics: `http://127.0.0.1:${metricsPort}/metrics` };
  };

  test(NAME, async () => {
    const [a, b] = [await instance(), await instance()];
    const results = await Promise.all([load(a.url, 40), load(b.url, 25)]);
    assert.deepEqual(results.map((r) => r.failed), [0, 0]);
    let text = "";
    for (const until = Date.now() + 15_000; Date.now() < until;) {
      text = await (await fetch(a.metrics)).text();
      if (sample(text, USERS) === 65) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(sample(text, USERS), 65);
    for (const { app } of [a, b]) assert.doesNotMatch(app.output(), /NotCapable|PermissionDenied|Requires .* access/);
    // Worker gauges are there when Deno can tell, and never a misleading NaN.
    assert.doesNotMatch(text, /^hono_worker_(memory_bytes|cpu_percent|uptime_seconds)\{.*\} NaN$/m);
  });
}
