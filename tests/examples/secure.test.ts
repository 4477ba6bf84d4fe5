/**
 * The basic example and the sidecar serve /metrics over mutual TLS with a bearer token, configured
 * from environment variables alone, and a real Prometheus scrapes them (up == 1, asked through its
 * HTTP API); the same targets scraped without the client certificate, or without the token, are down.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { makeCerts } from "../support/certs.ts";
import { startPrometheus } from "../support/prometheus.ts";
import { commandFor, RUNTIME } from "../support/runtime.ts";
import { EXAMPLE_PORTS, reportedPorts, start } from "../support/spawn.ts";

test(`mutual TLS and a token from the environment alone on ${RUNTIME}: Prometheus scrapes the example and the sidecar`, async () => {
  const certs = makeCerts();
  const root = mkdtempSync(join(tmpdir(), "hpe-secure-"));
  const token = "scrape-token-42";
  const secured = {
    PROMETHEUS_SSL_CERTFILE: certs.serverCert,
    PROMETHEUS_SSL_KEYFILE: certs.serverKey,
    PROMETHEUS_SSL_CLIENT_CAFILE: certs.ca,
    PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED: "true",
    PROMETHEUS_METRICS_TOKEN: token,
    PROMETHEUS_BIND_ADDRESS: "127.0.0.1",
    PROMETHEUS_MULTIPROC_DIR: join(root, "metrics"),
  };
  const [appCommand, appArgs] = commandFor("examples/basic/app.ts");
  const app = await start(appCommand, appArgs, {
    ...secured,
    PORT: "0",
    HOST: "127.0.0.1",
    PROMETHEUS_METRICS_PORT: "0",
  }, EXAMPLE_PORTS);
  const [appPort, metricsPort] = reportedPorts(app, EXAMPLE_PORTS);
  const [cliCommand, cliArgs] = commandFor("src/cli.ts");
  const sidecar = await start(cliCommand, [...cliArgs, "serve"], {
    ...secured,
    PROMETHEUS_METRICS_PORT: "0",
  }, /sidecar serving .*:\d+\/metrics/);
  const [sidecarPort] = reportedPorts(sidecar, /sidecar serving .*:(\d+)\/metrics/);
  const job = (name: string, tls: string, auth: boolean) =>
    [
      `  - job_name: ${name}`,
      "    scheme: https",
      "    tls_config:",
      tls,
      ...(auth ? ["    authorization:", `      credentials: ${token}`] : []),
      "    static_configs:",
      `      - targets: ["127.0.0.1:${metricsPort}", "127.0.0.1:${sidecarPort}"]`,
    ].join("\n");
  const withCert = [
    `      ca_file: ${certs.ca}`,
    `      cert_file: ${certs.clientCert}`,
    `      key_file: ${certs.clientKey}`,
  ].join("\n");
  const prometheus = await startPrometheus(
    {
      scrapeConfigs: [
        job("secure", withCert, true),
        job("no_client_cert", `      ca_file: ${certs.ca}`, true),
        job("no_token", withCert, false),
      ].join("\n"),
    },
    1000,
    900,
  );
  try {
    for (let i = 0; i < 5; i++) await fetch(`http://127.0.0.1:${appPort}/users/${i}`).then((r) => r.arrayBuffer());
    // Poll (with a deadline) until Prometheus has scraped every target at least twice.
    let counts: number[] = [];
    for (const until = Date.now() + 30_000; Date.now() < until;) {
      counts = await prometheus.query("count_over_time(up[1m])");
      if (counts.length === 6 && counts.every((c) => c >= 2)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(counts.length, 6, `six targets scraped: ${JSON.stringify(await prometheus.raw("up"))}`);
    assert.deepEqual(await prometheus.query('min_over_time(up{job="secure"}[1m])'), [1, 1], "app and sidecar up");
    assert.deepEqual(await prometheus.query('max_over_time(up{job="no_client_cert"}[1m])'), [0, 0]);
    assert.deepEqual(await prometheus.query('max_over_time(up{job="no_token"}[1m])'), [0, 0]);
    const served = await prometheus.query('sum by (instance) (hono_worker_requests_total{job="secure"})');
    assert.deepEqual(served.sort(), [5, 5], "the app's 5 requests, seen through the app and through the sidecar");
  } finally {
    await prometheus.stop();
    await sidecar.stop("SIGTERM");
    await app.stop("SIGTERM");
    rmSync(root, { recursive: true, force: true });
    certs.remove();
  }
});
