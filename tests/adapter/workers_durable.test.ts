/**
 * The Durable Object example in the real Workers runtime (`wrangler dev`, workerd): two Workers, so
 * two isolates, run the example's app and publish to one metrics object of one namespace (the
 * second binds the first's class through `script_name`, as a second app of an account does). No
 * publish code in the app, no Upstash binding. Totals carry on across a restart of workerd on the
 * same persisted state, and the object is asked at most one publish per isolate per flush window.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { until } from "../support/poll.ts";
import { sample } from "../support/sim.ts";
import { type RunningWorker, startSession, workerdSuite } from "../support/workerd.ts";

const USERS = 'hono_worker_requests_total{method="GET",route="/users/:id",status="200"}';
const SESSION = [
  "tests/support/fixtures/durable/router.toml",
  "examples/workers-durable/wrangler.toml",
  "tests/support/fixtures/durable/second.toml",
];

const NAME = "the Durable Object example in workerd (wrangler dev, two Workers, one metrics object)";
workerdSuite(NAME, suite);

/** The users count the second Worker's /metrics shows, once it is `expected` (undefined by the deadline). */
async function settle(worker: RunningWorker, expected: number): Promise<number | undefined> {
  let seen: number | undefined;
  try {
    await until(
      `${USERS} to be ${expected}`,
      async () => {
        const res = await fetch(`${worker.url}/second/metrics`);
        seen = res.status === 200 ? sample(await res.text(), USERS) : (await res.body?.cancel(), seen);
        return seen === expected;
      },
      15_000,
      100,
    );
  } catch {
    // the last value seen says what went wrong
  }
  return seen;
}

function suite(): void {
  const persist = mkdtempSync(join(tmpdir(), "hpe-durable-"));
  let worker: RunningWorker | undefined;
  after(async () => {
    await worker?.stop();
    rmSync(persist, { recursive: true, force: true });
  });

  test("two isolates aggregate exactly through one metrics object; /metrics stays locked without a token", async () => {
    worker = await startSession(SESSION, persist);
    const w = worker;
    for (let i = 0; i < 7; i++) assert.equal((await fetch(`${w.url}/first/users/${i}`)).status, 200);
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`${w.url}/second/users/${i}`)).status, 200);
    assert.equal(await settle(w, 12), 12, "7 requests to the first Worker and 5 to the second");
    const locked = await fetch(`${w.url}/first/metrics`);
    assert.equal(locked.status, 403);
    assert.match(await locked.text(), /PROMETHEUS_METRICS_TOKEN/);
    assert.doesNotMatch(w.output(), /Uncaught|cross-context/);
  });

  test("the totals carry on across a restart of workerd on the same persisted state", async () => {
    assert.ok(worker, "the first test started the session");
    await worker.stop();
    worker = await startSession(SESSION, persist);
    const w = worker;
    // Before any new request to the apps, the object serves what it stored.
    assert.equal(await settle(w, 12), 12, "after the restart");
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${w.url}/first/users/${i}`)).status, 200);
    assert.equal(await settle(w, 15), 15, "3 more after the restart");
  });
}
