import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { load } from "../support/load.ts";
import { until } from "../support/poll.ts";
import { commandFor, freePort, RUNTIME } from "../support/runtime.ts";
import { renderDirectory, sumOf } from "../support/sim.ts";
import { reportedPorts, start } from "../support/spawn.ts";

const FIXTURE = "tests/support/fixtures/supervised_app_server.ts";
const WORKERS = 2;
const SLOW = 4;

/** The app's own servers supervise is given, and the runtimes whose node:cluster runs them. */
const SERVERS = [
  { kind: "hono-node", name: "@hono/node-server's serve", runtimes: ["node", "bun"] },
  { kind: "node-http", name: "a node:http server", runtimes: ["node", "bun"] },
  { kind: "bun", name: "Bun.serve", runtimes: ["bun"] },
  { kind: "serve", name: "the package's serve", runtimes: ["node", "bun"] },
] as const;

function skipReason(runtimes: readonly string[]): string | false {
  if (RUNTIME === "deno") return "supervise runs on node:cluster (Node and Bun); Deno has createParallelExporter";
  if (!runtimes.includes(RUNTIME)) return `it is Bun's server, and this is ${RUNTIME}`;
  return false;
}

for (const { kind, name, runtimes } of SERVERS) {
  const title =
    `supervise on ${RUNTIME} with ${name}: SIGTERM under load drains it, exits 0, and every answer is counted`;
  const skip = skipReason(runtimes);
  test(skip ? `${title} (skipped: ${skip})` : title, { skip }, async () => {
    const root = mkdtempSync(join(tmpdir(), `hpe-app-server-${kind}-`));
    const dir = join(root, "metrics");
    const [command, args] = commandFor(FIXTURE);
    const app = await start(command, args, {
      APP_SERVER: kind,
      PORT: String(await freePort()),
      WORKERS: String(WORKERS),
      PROMETHEUS_METRICS_PORT: "0",
      PROMETHEUS_BIND_ADDRESS: "127.0.0.1",
      PROMETHEUS_MULTIPROC_DIR: dir,
    }, new RegExp(`(worker_\\d \\(pid \\d+\\) serving on :\\d+[\\s\\S]*){${WORKERS}}`));
    try {
      const [port] = reportedPorts(app, /serving on :(\d+)/);
      const url = `http://127.0.0.1:${port}`;
      let answered = (await load(url, 100, 4)).ok;
      assert.equal(answered, 100);

      // Load all along, and requests that are still being answered when SIGTERM arrives.
      const progress = { answered: 0 };
      const late = load(url, 400, 4, progress);
      await until("10 requests answered under load", () => progress.answered >= 10);
      const slow = Array.from(
        { length: SLOW },
        (_, i) =>
          fetch(`${url}/slow/${i}`).then(async (res) => (await res.text(), res.status), (error) => String(error)),
      );
      const started = () => (app.output().match(/slow \d+ started/g) ?? []).length;
      await until(`${SLOW} slow requests started`, () => started() >= SLOW);
      const code = await app.stop("SIGTERM");
      answered += (await late).ok;

      assert.equal(code, 0, app.output());
      assert.deepEqual(await Promise.all(slow), Array(SLOW).fill(200), "requests in flight at SIGTERM are answered");
      answered += SLOW;
      const total = sumOf(await renderDirectory(dir), "hono_worker_requests_total");
      assert.equal(total, answered, `counted ${total} of ${answered} answered:\n${app.output()}`);
    } finally {
      await app.stop("SIGKILL");
      rmSync(root, { recursive: true, force: true });
    }
  });
}
