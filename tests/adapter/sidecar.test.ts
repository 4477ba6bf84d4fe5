import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { test } from "node:test";
import { Counter, createExporter, Registry } from "../../mod.ts";
import { UpstashStorage } from "../../src/storage/upstash.ts";
import { startRedis } from "../support/redis.ts";
import { commandFor, RUNTIME } from "../support/runtime.ts";
import { sample } from "../support/sim.ts";
import { reportedPorts, start } from "../support/spawn.ts";
import { startGateway } from "../support/upstash_gateway.ts";

test(`the sidecar on ${RUNTIME} serves the aggregate from Upstash with no app`, async () => {
  const redis = await startRedis();
  const gateway = await startGateway(redis.port);
  const [command, args] = commandFor("src/cli.ts");
  try {
    const registry = new Registry();
    const jobs = new Counter({ name: "jobs_total", help: "Jobs.", registers: [registry] });
    jobs.inc(42);
    const storage = new UpstashStorage({ url: gateway.url, token: gateway.token, keyPrefix: `sidecar-${RUNTIME}` });
    await createExporter({ registry, storage, metricsServer: false }).flush();
    const sidecar = await start(command, [...args, "serve"], {
      REDIS_ENABLED: "true",
      UPSTASH_REDIS_REST_URL: gateway.url,
      UPSTASH_REDIS_REST_TOKEN: gateway.token,
      REDIS_KEY_PREFIX: `sidecar-${RUNTIME}`,
      PROMETHEUS_METRICS_PORT: "0",
      PROMETHEUS_BIND_ADDRESS: "127.0.0.1",
    }, /sidecar serving the upstash aggregate on :\d+/);
    const [metricsPort] = reportedPorts(sidecar, /sidecar serving the upstash aggregate on :(\d+)/);
    try {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      assert.equal(sample(text, "jobs_total"), 42);
    } finally {
      await sidecar.stop("SIGTERM");
    }
  } finally {
    await gateway.stop();
    await redis.stop();
  }
});

test(`the sidecar on ${RUNTIME} without storage settings says what to set and exits 2`, () => {
  const [command, args] = commandFor("src/cli.ts");
  const env = { ...process.env };
  for (const name of ["REDIS_ENABLED", "PROMETHEUS_MULTIPROC_DIR"]) delete env[name];
  const result = spawnSync(command, [...args, "serve"], { env, encoding: "utf8" });
  assert.equal(result.status, 2, result.stderr);
  assert.match(
    result.stderr,
    /REDIS_ENABLED: nothing to serve: set UPSTASH_REDIS_REST_URL .*REDIS_ENABLED=true .* or PROMETHEUS_MULTIPROC_DIR/,
  );
});
