/**
 * The Grafana dashboard (dashboards/grafana.json) against a real Prometheus: it scrapes the
 * cluster example while the example serves every kind of request, loses a worker to SIGKILL and
 * is sent SIGTTIN; then every panel's query, with the template variables filled in as Grafana
 * would (job, every route, the rate interval and the range), is evaluated through Prometheus' HTTP
 * API. A query that errors or returns nothing fails the test.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { startPrometheus } from "../support/prometheus.ts";
import { replaced, slotPids, startClusterExample } from "../support/cluster.ts";
import { RUNTIME } from "../support/runtime.ts";

interface Panel {
  readonly type: string;
  readonly title: string;
  readonly targets?: Array<{ readonly expr: string }>;
}

const dashboard = JSON.parse(readFileSync("dashboards/grafana.json", "utf8")) as {
  panels: Panel[];
  templating: { list: Array<{ name: string; query?: string | { query: string }; allValue?: string }> };
};

/** The query with Grafana's variables filled in: `job`, every route (`All`), 30 s rate windows, a 5 min range. */
function fill(expr: string): string {
  return expr
    .replaceAll("$__rate_interval", "30s")
    .replaceAll("$__range", "5m")
    .replaceAll("$job", "hono")
    .replaceAll("$route", ".*");
}

const skip = RUNTIME === "node" ? false : "run once, from Node's suite: the queries do not depend on the test runner";

test(
  "every panel and variable query of the Grafana dashboard returns data from a real Prometheus",
  { skip },
  async () => {
    const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
    for (const variable of dashboard.templating.list) {
      const q = typeof variable.query === "string" ? undefined : variable.query?.query;
      if (q !== undefined) queries.push({ panel: `variable ${variable.name}`, expr: q });
    }
    assert.ok(queries.length >= 20, `${queries.length} queries`);

    const root = mkdtempSync(join(tmpdir(), "hpe-dashboard-"));
    const { app, url, metricsPort } = await startClusterExample(join(root, "metrics"), 2);
    const prometheus = await startPrometheus(`127.0.0.1:${metricsPort}`, 1000, 800);
    let loading = true;
    const load = Promise.all(Array.from({ length: 3 }, async (_, lane) => {
      for (let i = 0; loading; i++) {
        const requests = [
          // A request to a worker killed mid-answer may never end: each gives up after 2 s.
          () => fetch(`${url}/users/${lane}-${i}`, { signal: AbortSignal.timeout(2000) }),
          () =>
            fetch(`${url}/users`, {
              method: "POST",
              body: JSON.stringify({ name: `n${i}` }),
              signal: AbortSignal.timeout(2000),
            }),
          () => fetch(`${url}/robots.txt`, { signal: AbortSignal.timeout(2000) }),
          () => fetch(`${url}/error`, { signal: AbortSignal.timeout(2000) }),
          () => fetch(`${url}/nowhere`, { signal: AbortSignal.timeout(2000) }),
        ];
        try {
          const res = await requests[i % requests.length]();
          await res.arrayBuffer();
        } catch {
          // a killed worker's connection
        }
      }
    }));
    const pending = new Map(queries.map((q) => [q.expr, q]));
    const failures = new Map<string, string>();
    try {
      // A worker dies (the supervisor restarts it and a scrape retires it), and the supervisor is
      // asked for one more worker: restarts, signals and retirements have something to show.
      const pids = slotPids(app, "worker_1");
      process.kill(pids[pids.length - 1], "SIGKILL");
      await replaced(app, "worker_1", pids.length);
      process.kill(app.child.pid!, "SIGTTIN");
      // Every query is polled until it returns data, with one deadline for all.
      for (const until = Date.now() + 60_000; pending.size > 0 && Date.now() < until;) {
        for (const [expr, q] of pending) {
          try {
            // Grafana answers label_values(selector, label) from the label values API.
            const variable = /^label_values\((.+), (\w+)\)$/.exec(fill(expr));
            const result = variable
              ? await prometheus.labelValues(variable[2], variable[1])
              : await prometheus.raw(fill(expr)) as unknown[] | undefined;
            if (result === undefined) throw new Error("the query failed");
            failures.delete(expr);
            if (result.length > 0) pending.delete(expr);
            else failures.set(expr, `${q.panel}: no data`);
          } catch (error) {
            failures.set(expr, `${q.panel}: ${(error as Error).message}`);
          }
        }
        if (pending.size > 0) await new Promise((r) => setTimeout(r, 500));
      }
      assert.deepEqual([...pending.keys()].map((e) => `${failures.get(e)}\n  ${fill(e)}`), []);
    } finally {
      loading = false;
      await load;
      await prometheus.stop();
      await app.stop("SIGKILL");
      rmSync(root, { recursive: true, force: true });
    }
  },
);
