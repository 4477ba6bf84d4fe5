import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createExporter } from "../../src/adapter/auto.ts";
import type { TlsOptions } from "../../src/core/config/config.ts";
import { ConfigError } from "../../src/core/errors.ts";
import { internals } from "../../src/core/exporter/exporter.ts";
import type { Exporter } from "../../src/core/api/types.ts";
import { Registry } from "../../src/core/values/metrics.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { type Certs, curl, makeCerts } from "../support/certs.ts";
import { RUNTIME } from "../support/runtime.ts";

let certs: Certs;
before(() => {
  certs = makeCerts();
});
after(() => certs?.remove());

async function serving(
  tls: TlsOptions,
  auth: { metricsToken?: string; metricsUsername?: string; metricsPassword?: string } = {},
): Promise<{ exporter: Exporter; url: string }> {
  const exporter = createExporter({
    registry: new Registry(),
    storage: new MemoryStorage(),
    metricsPort: 0,
    bindAddress: "127.0.0.1",
    handleSignals: false,
    tls,
    ...auth,
  });
  const server = await internals(exporter).startMetricsServer();
  assert.ok(server, "the metrics server started");
  return { exporter, url: `https://127.0.0.1:${server.port}/metrics` };
}

describe(`metrics server over TLS on ${RUNTIME}`, () => {
  test("HTTPS with the server's certificate; plain HTTP is not answered as metrics", async () => {
    const { exporter, url } = await serving({ certFile: certs.serverCert, keyFile: certs.serverKey });
    try {
      const res = await curl(url, { ca: certs.ca });
      assert.equal(res.status, 200, res.error);
      assert.match(res.body, /^# HELP /m);
      assert.doesNotMatch((await curl(url.replace("https:", "http:"))).body, /# HELP/);
      assert.equal((await curl(url)).status, 0, "an unknown CA fails the client's check");
    } finally {
      await exporter.onExit();
    }
  });

  test("client certificates required: none and a rogue one are refused, the CA's passes", async () => {
    const { exporter, url } = await serving({
      certFile: certs.serverCert,
      keyFile: certs.serverKey,
      clientCaFile: certs.ca,
      clientAuthRequired: true,
    });
    try {
      const ok = await curl(url, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey });
      assert.equal(ok.status, 200, ok.error);
      for (
        const res of [
          await curl(url, { ca: certs.ca }),
          await curl(url, { ca: certs.ca, cert: certs.rogueCert, key: certs.rogueKey }),
        ]
      ) {
        // Refused in the handshake (Bun) or with a 403 that says why (Node, Deno).
        assert.ok(res.status === 0 || res.status === 403, `${res.status} ${res.body}`);
        assert.doesNotMatch(res.body, /# HELP/);
      }
    } finally {
      await exporter.onExit();
    }
  });

  test("client certificates optional: none passes, the CA's passes, a rogue one is refused", async () => {
    const options = { certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.ca };
    if (RUNTIME === "bun") {
      // Bun verifies client certificates only by requiring them: said, not ignored.
      await assert.rejects(
        serving(options),
        (e: unknown) => e instanceof ConfigError && /Bun can verify/.test(e.message),
      );
      return;
    }
    const { exporter, url } = await serving(options);
    try {
      assert.equal((await curl(url, { ca: certs.ca })).status, 200);
      assert.equal((await curl(url, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey })).status, 200);
      const rogue = await curl(url, { ca: certs.ca, cert: certs.rogueCert, key: certs.rogueKey });
      assert.equal(rogue.status, 403);
      assert.match(rogue.body, /not signed by PROMETHEUS_SSL_CLIENT_CAFILE/);
    } finally {
      await exporter.onExit();
    }
  });

  test("a CA directory (PROMETHEUS_SSL_CLIENT_CAPATH) works like a CA file", async () => {
    const caDir = join(certs.dir, "ca-dir");
    mkdirSync(caDir, { recursive: true });
    writeFileSync(join(caDir, "ours.pem"), readFileSync(certs.ca, "utf8"));
    const { exporter, url } = await serving({
      certFile: certs.serverCert,
      keyFile: certs.serverKey,
      clientCaPath: caDir,
      clientAuthRequired: true,
    });
    try {
      assert.equal((await curl(url, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey })).status, 200);
      assert.notEqual((await curl(url, { ca: certs.ca, cert: certs.rogueCert, key: certs.rogueKey })).status, 200);
    } finally {
      await exporter.onExit();
    }
  });

  test("bearer token and basic auth over TLS: either passes, a wrong one is a 401 that names neither secret", async () => {
    const { exporter, url } = await serving({ certFile: certs.serverCert, keyFile: certs.serverKey }, {
      metricsToken: "tok-123",
      metricsUsername: "prom",
      metricsPassword: "pa ss:word",
    });
    try {
      assert.equal((await curl(url, { ca: certs.ca, headers: { authorization: "Bearer tok-123" } })).status, 200);
      assert.equal((await curl(url, { ca: certs.ca, user: "prom:pa ss:word" })).status, 200);
      for (const res of [await curl(url, { ca: certs.ca }), await curl(url, { ca: certs.ca, user: "prom:wrong" })]) {
        assert.equal(res.status, 401);
        assert.doesNotMatch(res.body, /tok-123|pa ss:word/);
      }
    } finally {
      await exporter.onExit();
    }
  });

  const misconfigurations: Array<[string, () => TlsOptions, string, RegExp]> = [
    [
      "a certificate file that does not exist",
      () => ({ certFile: "/nonexistent/cert.pem", keyFile: certs.serverKey }),
      "PROMETHEUS_SSL_CERTFILE",
      /cannot read \/nonexistent\/cert\.pem \(ENOENT\)/,
    ],
    [
      "a key that is not the certificate's",
      () => ({ certFile: certs.serverCert, keyFile: certs.clientKey }),
      "PROMETHEUS_SSL_KEYFILE",
      /is not the private key of the certificate/,
    ],
    [
      "a key file that holds a certificate",
      () => ({ certFile: certs.serverCert, keyFile: certs.ca }),
      "PROMETHEUS_SSL_KEYFILE",
      /holds no PEM private key/,
    ],
    [
      "a key without a certificate",
      () => ({ keyFile: certs.serverKey }),
      "PROMETHEUS_SSL_CERTFILE",
      /HTTPS needs both/,
    ],
    [
      "a client CA without HTTPS",
      () => ({ clientCaFile: certs.ca }),
      "tls.clientCaFile",
      /client certificates need HTTPS/,
    ],
    [
      "client auth required without a CA",
      () => ({ certFile: certs.serverCert, keyFile: certs.serverKey, clientAuthRequired: true }),
      "tls.clientAuthRequired",
      /no CA to verify/,
    ],
    [
      "a CA file with no certificate in it",
      () => ({
        certFile: certs.serverCert,
        keyFile: certs.serverKey,
        clientCaFile: certs.serverKey,
        clientAuthRequired: true,
      }),
      "PROMETHEUS_SSL_CLIENT_CAFILE",
      /holds no PEM certificate/,
    ],
    [
      "a CA path that is not a directory",
      () => ({
        certFile: certs.serverCert,
        keyFile: certs.serverKey,
        clientCaPath: certs.ca,
        clientAuthRequired: true,
      }),
      "PROMETHEUS_SSL_CLIENT_CAPATH",
      /cannot read the directory/,
    ],
  ];
  for (const [name, tls, setting, message] of misconfigurations) {
    test(`${name}: a ConfigError at start naming ${setting}`, async () => {
      await assert.rejects(
        serving(tls()),
        (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${setting}: `) && message.test(e.message),
      );
    });
  }
});
