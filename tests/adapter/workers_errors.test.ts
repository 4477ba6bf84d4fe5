/**
 * Storage errors in the real Workers runtime (workerd through `wrangler dev`, as in
 * `workers.test.ts`): workerd tells a failed DNS lookup, connection or TLS handshake apart from
 * nothing ("internal error; reference = ..."), so the scrape's 503 names the host and says so; and
 * an Upstash endpoint whose error pages echo the request's headers never gets the token into the
 * 503 or the Worker's log.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { until } from "../support/poll.ts";
import { type RedisServer, startRedis } from "../support/redis.ts";
import { type Gateway, startGateway } from "../support/upstash_gateway.ts";
import { type RunningWorker, startWorker, workerdSuite } from "../support/workerd.ts";

const METRICS_TOKEN = "scrape-token-for-error-tests-0123456789";
const UPSTASH_TOKEN = "AXtok+en/secret=for-workerd-0123456789abcdef";

// workerd is the runtime under test, whatever runs the file: it runs once, under Node's runner.
const NAME = "storage errors in workerd (wrangler dev, Miniflare)";
workerdSuite(NAME, suite);

/** The forms the token may take in text: as is, URL-encoded, base64 inside a bearer header. */
function assertNoToken(text: string): void {
  const b64 = btoa(`Bearer ${UPSTASH_TOKEN}`).slice(12, 40);
  for (const form of [UPSTASH_TOKEN, encodeURIComponent(UPSTASH_TOKEN), b64]) {
    assert.ok(!text.includes(form), `${JSON.stringify(form)} appears in:\n${text}`);
  }
}

async function scrape(worker: RunningWorker): Promise<{ status: number; body: string }> {
  const res = await fetch(`${worker.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  return { status: res.status, body: await res.text() };
}

function suite(): void {
  let redis: RedisServer;
  const gateways: Gateway[] = [];
  const workers: RunningWorker[] = [];
  const worker = async (url: string, prefix: string) => {
    const w = await startWorker({
      UPSTASH_REDIS_REST_URL: url,
      UPSTASH_REDIS_REST_TOKEN: UPSTASH_TOKEN,
      REDIS_KEY_PREFIX: prefix,
      PROMETHEUS_METRICS_TOKEN: METRICS_TOKEN,
    });
    workers.push(w);
    return w;
  };

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all(gateways.map((g) => g.stop()));
    await redis?.stop();
  });

  test("an unresolvable Upstash host: the 503 names the host and says workerd does not tell the cause", async () => {
    const w = await worker("http://does-not-exist.invalid", "dns");
    assert.equal((await fetch(`${w.url}/users/1`)).status, 200, "the app keeps serving");
    const { status, body } = await scrape(w);
    assert.equal(status, 503);
    assert.match(body, /the request to http:\/\/does-not-exist\.invalid:80 did not complete/);
    assert.match(body, /DNS lookup, connection or TLS failure; workerd does not say which/);
    assert.match(body, /UPSTASH_REDIS_REST_URL/);
    assertNoToken(body);
    await until("the failure in the Worker's log", () => /did not complete/.test(w.output()));
    assertNoToken(w.output());
  });

  test("an endpoint whose error pages echo the request's headers: the token is in no 503 and no log line", async () => {
    // One gateway and one isolate per kind of page: an isolate reports its first failure only.
    const modes = ["echo-html", "echo-json", "echo-text"] as const;
    const echoing = await Promise.all(modes.map(async (mode) => {
      const g = await startGateway(redis.port, UPSTASH_TOKEN);
      gateways.push(g);
      await g.setMode(mode);
      return { g, w: await worker(g.url, mode) };
    }));
    const scrapes = [];
    for (const { g, w } of echoing) {
      assert.equal((await fetch(`${w.url}/users/1`)).status, 200, "the app keeps serving");
      scrapes.push({ g, w, ...await scrape(w) });
    }
    for (const { body } of scrapes) assertNoToken(body);
    for (const { g, w, status, body } of scrapes) {
      assert.equal(status, 503, body);
      assert.ok(body.includes(g.url), body);
      assert.match(body, /answered HTTP (502|400|503)/);
      await until("the failure in the Worker's log", () => /upstash storage: http:\/\/127\.0\.0\.1/.test(w.output()));
      assertNoToken(w.output());
    }
  });
}
