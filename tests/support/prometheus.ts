/** A real Prometheus server (Debian's `prometheus`) scraping one target, and its HTTP query API. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./runtime.ts";
import { type Running, start } from "./spawn.ts";

export interface PrometheusServer {
  /** Where it answers (`http://127.0.0.1:<port>`). */
  readonly url: string;
  /** Runs an instant PromQL query; returns the value of each result. */
  query(expr: string): Promise<number[]>;
  /** The raw result of an instant query (labels and values), for messages. */
  raw(expr: string): Promise<unknown>;
  /** Every metric name Prometheus has stored. */
  names(): Promise<string[]>;
  /** The values of `label` on the series `match` selects (what Grafana's `label_values()` asks). */
  labelValues(label: string, match: string): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * Starts Prometheus on 127.0.0.1, scraping every `intervalMs` with `timeoutMs`: `target`
 * (host:port) as job `hono`, or the jobs of `scrapeConfigs` (YAML list items, indented by two).
 */
export async function startPrometheus(
  target: string | { scrapeConfigs: string },
  intervalMs: number,
  timeoutMs: number,
  flags: readonly string[] = [],
): Promise<PrometheusServer> {
  const root = mkdtempSync(join(tmpdir(), "hpe-prometheus-"));
  const config = join(root, "prometheus.yml");
  const jobs = typeof target === "string"
    ? ["  - job_name: hono", "    static_configs:", `      - targets: ["${target}"]`].join("\n")
    : target.scrapeConfigs;
  writeFileSync(
    config,
    ["global:", `  scrape_interval: ${intervalMs}ms`, `  scrape_timeout: ${timeoutMs}ms`, "scrape_configs:", jobs, ""]
      .join("\n"),
  );
  const port = await freePort(); // Prometheus cannot report a port of its choosing
  let server: Running;
  try {
    server = await start(
      "prometheus",
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(root, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        ...flags,
      ],
      {},
      /Server is ready to receive web requests/,
    );
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  const base = `http://127.0.0.1:${port}`;
  return {
    url: base,
    async query(expr) {
      const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = await res.json() as { status: string; data: { result: Array<{ value: [number, string] }> } };
      if (body.status !== "success") throw new Error(`query ${expr} failed: ${JSON.stringify(body)}`);
      return body.data.result.map((r) => Number(r.value[1]));
    },
    async raw(expr) {
      const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
      return ((await res.json()) as { data: { result: unknown } }).data.result;
    },
    async names() {
      const res = await fetch(`${base}/api/v1/label/__name__/values`);
      return ((await res.json()) as { data: string[] }).data;
    },
    async labelValues(label, match) {
      const res = await fetch(`${base}/api/v1/label/${label}/values?match[]=${encodeURIComponent(match)}`);
      const body = await res.json() as { status: string; data: string[] };
      if (body.status !== "success") throw new Error(`label values of ${label} for ${match}: ${JSON.stringify(body)}`);
      return body.data;
    },
    async stop() {
      await server.stop("SIGTERM");
      rmSync(root, { recursive: true, force: true });
    },
  };
}
