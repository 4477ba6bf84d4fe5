/** Throwaway certificates made with `openssl`: a CA, a server certificate for 127.0.0.1, a client
 * certificate it signed, and a rogue CA with a client certificate of its own. */
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Certs {
  readonly dir: string;
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly rogueCert: string;
  readonly rogueKey: string;
  remove(): void;
}

export function makeCerts(): Certs {
  const dir = mkdtempSync(join(tmpdir(), "hpe-certs-"));
  const p = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  // A new key for `name` and a request (or, with -x509, a self-signed certificate) for `subject`.
  const newKey = (name: string, subject: string, ...rest: string[]) =>
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", p(`${name}.key`), "-subj", subject, ...rest);
  const selfSigned = (name: string, subject: string) =>
    newKey(name, subject, "-x509", "-days", "2", "-out", p(`${name}.crt`));
  const signed = (name: string, subject: string, by: string, extensions?: string) => {
    newKey(name, subject, "-out", p(`${name}.csr`));
    const args = [
      "x509",
      "-req",
      "-in",
      p(`${name}.csr`),
      "-CA",
      p(`${by}.crt`),
      "-CAkey",
      p(`${by}.key`),
      "-CAcreateserial",
      "-out",
      p(`${name}.crt`),
      "-days",
      "2",
    ];
    if (extensions !== undefined) {
      writeFileSync(p(`${name}.ext`), extensions);
      args.push("-extfile", p(`${name}.ext`));
    }
    openssl(...args);
  };
  selfSigned("ca", "/CN=hpe-test-ca");
  signed("server", "/CN=127.0.0.1", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  signed("client", "/CN=prometheus", "ca");
  selfSigned("rogue-ca", "/CN=rogue-ca");
  signed("rogue", "/CN=rogue-client", "rogue-ca");
  return {
    dir,
    ca: p("ca.crt"),
    serverCert: p("server.crt"),
    serverKey: p("server.key"),
    clientCert: p("client.crt"),
    clientKey: p("client.key"),
    rogueCert: p("rogue.crt"),
    rogueKey: p("rogue.key"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * One request with curl (a client independent of the runtime under test, run asynchronously so
 * that a server in this process can answer): status 0 when the request failed.
 */
export function curl(
  url: string,
  options: { ca?: string; cert?: string; key?: string; headers?: Record<string, string>; user?: string } = {},
): Promise<{ status: number; body: string; error: string }> {
  const args = ["-sS", "--max-time", "10", "-w", "\n%{http_code}"];
  if (options.ca) args.push("--cacert", options.ca);
  if (options.cert) args.push("--cert", options.cert);
  if (options.key) args.push("--key", options.key);
  if (options.user) args.push("--user", options.user);
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push("-H", `${name}: ${value}`);
  args.push(url);
  return new Promise((resolve) => {
    execFile("curl", args, (error, stdout, stderr) => {
      const out = String(stdout);
      const cut = out.lastIndexOf("\n");
      const status = Number(out.slice(cut + 1)) || 0;
      resolve({ status: error ? 0 : status, body: cut === -1 ? out : out.slice(0, cut), error: String(stderr) });
    });
  });
}
