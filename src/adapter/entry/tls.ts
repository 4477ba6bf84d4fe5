/**
 * HTTPS for the host runtimes' metrics server: reads and checks the `PROMETHEUS_SSL_*` files once,
 * at start (a missing file, a key that does not match its certificate, a CA file with no
 * certificate in it: a ConfigError that names the setting and the file), and decides whether a
 * client's certificate may scrape.
 * @module
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { TlsFiles } from "../../core/runtime.ts";
import { ConfigError } from "../../core/errors.ts";
import type { TlsMaterial } from "../../core/runtime.ts";

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Reads the files `files` names and checks that they make a working HTTPS server. */
export function loadTls(files: TlsFiles): TlsMaterial {
  const cert = read("PROMETHEUS_SSL_CERTFILE", files.certFile);
  const key = read("PROMETHEUS_SSL_KEYFILE", files.keyFile);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    throw new ConfigError("PROMETHEUS_SSL_CERTFILE", `${files.certFile} holds no PEM certificate`);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new ConfigError("PROMETHEUS_SSL_KEYFILE", `${files.keyFile} holds no PEM private key (or it is encrypted)`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new ConfigError(
      "PROMETHEUS_SSL_KEYFILE",
      `${files.keyFile} is not the private key of the certificate in ${files.certFile}`,
    );
  }
  const ca: string[] = [];
  if (files.clientCaFile !== undefined) {
    const found = certificatesIn(read("PROMETHEUS_SSL_CLIENT_CAFILE", files.clientCaFile));
    if (found.length === 0) {
      throw new ConfigError("PROMETHEUS_SSL_CLIENT_CAFILE", `${files.clientCaFile} holds no PEM certificate`);
    }
    ca.push(...found);
  }
  if (files.clientCaPath !== undefined) ca.push(...certificatesInDirectory(files.clientCaPath));
  const clientAuth = ca.length === 0 ? "none" : files.clientAuthRequired ? "required" : "optional";
  return { cert, key, ca, clientAuth };
}

/**
 * Why a client may not scrape, or undefined when it may: without a client CA anyone may; with
 * one, a certificate sent must be signed by it and current, and one is needed when required.
 * `peer` is what the TLS socket saw (`getPeerCertificate(true)`); `authorized`, whether the
 * runtime's TLS stack verified it (Node does; Deno only hands it over, so it is checked here).
 */
export function refuseClient(
  material: TlsMaterial,
  peer: { raw?: Uint8Array } | undefined,
  authorized: boolean,
  now = Date.now(),
): string | undefined {
  if (material.clientAuth === "none") return undefined;
  if (peer?.raw === undefined || peer.raw.length === 0) {
    return material.clientAuth === "required"
      ? "a client certificate signed by PROMETHEUS_SSL_CLIENT_CAFILE is required"
      : undefined;
  }
  if (authorized) return undefined;
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(peer.raw);
  } catch {
    return "the client certificate cannot be read";
  }
  if (now < Date.parse(certificate.validFrom) || now > Date.parse(certificate.validTo)) {
    return "the client certificate is not valid now";
  }
  const signed = material.ca.some((pem) => {
    try {
      const authority = new X509Certificate(pem);
      return certificate.checkIssued(authority) && certificate.verify(authority.publicKey);
    } catch {
      return false;
    }
  });
  return signed ? undefined : "the client certificate is not signed by PROMETHEUS_SSL_CLIENT_CAFILE";
}

function read(setting: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code ?? String(error);
    throw new ConfigError(setting, `cannot read ${path} (${code})`);
  }
}

function certificatesIn(text: string): string[] {
  return text.match(PEM_CERTIFICATE) ?? [];
}

/** Every PEM certificate in the files of `directory` (OpenSSL's hashed names, `.pem`, `.crt`...). */
function certificatesInDirectory(directory: string): string[] {
  let names: string[];
  try {
    if (!statSync(directory).isDirectory()) throw Object.assign(new Error(), { code: "ENOTDIR" });
    names = readdirSync(directory);
  } catch (error) {
    const code = (error as { code?: string }).code ?? String(error);
    throw new ConfigError("PROMETHEUS_SSL_CLIENT_CAPATH", `cannot read the directory ${directory} (${code})`);
  }
  const found: string[] = [];
  for (const name of names.sort()) {
    const path = join(directory, name);
    try {
      if (statSync(path).isFile()) found.push(...certificatesIn(readFileSync(path, "utf8")));
    } catch {
      // an unreadable entry of a system CA directory is not this exporter's to judge
    }
  }
  if (found.length === 0) {
    throw new ConfigError("PROMETHEUS_SSL_CLIENT_CAPATH", `${directory} holds no PEM certificate`);
  }
  return found;
}
