/**
 * What a failed request to a Redis backend (Upstash REST or TCP) tells its user: the cause (DNS,
 * refused, TLS, timeout, credentials, an HTTP status, an error reply), where (`scheme://host:port`)
 * and what to check, in the same words on Node, Bun, Deno and workerd, whose errors differ. Text
 * taken from an answer is cut to a short reason, and every message and cause is cleared of the
 * token or password, in any encoding, before it is thrown (and so before it is logged or served).
 * @module
 */
import { StorageError } from "../../core/errors.ts";

/** Where a backend sends its requests, as messages name it, and the settings to check. */
export interface Endpoint {
  /** `scheme://host:port` (a TCP URL also ends in `/db`), never with credentials. */
  readonly address: string;
  /** The host name alone, for a DNS failure. */
  readonly host: string;
  /** The server in words: "the Upstash REST endpoint", "Redis". */
  readonly server: string;
  /** The settings that say where the server is. */
  readonly addressSetting: string;
  /** The settings that hold the credentials. */
  readonly credentialSetting: string;
  /** The token or password: never shown, whatever its encoding. */
  readonly secrets: readonly string[];
}

/** The endpoint parts of a URL: `scheme://host:port` with the scheme's default port written out. */
export function addressOf(url: string): { address: string; host: string } {
  const parsed = new URL(url);
  const port = parsed.port || (parsed.protocol === "https:" ? "443" : parsed.protocol === "http:" ? "80" : "6379");
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  return { address: `${parsed.protocol}//${parsed.hostname}:${port}`, host };
}

/** A request that did not finish within the backend's own limit. */
export class Timeout extends Error {
  /** The limit, in ms. */
  readonly ms: number;
  /** Whether the connection was still being made. */
  readonly connecting: boolean;
  constructor(ms: number, what: string, connecting = false) {
    super(`${what} timed out after ${ms} ms`);
    this.name = "Timeout";
    this.ms = ms;
    this.connecting = connecting;
  }
}

/** An answer that says the request failed: its HTTP status (REST) and a short reason, already safe. */
export class FailedAnswer extends Error {
  /** The HTTP status, or undefined for a server's error reply. */
  readonly status: number | undefined;
  /** A short, single-line reason with no secret in it. */
  readonly reason: string;
  /** The body was not the server's own answer (an HTML page from a proxy or gateway...). */
  readonly foreign: boolean;
  /** The body's media type (`text/html`), where known. */
  readonly mediaType: string | undefined;
  constructor(status: number | undefined, reason: string, foreign = false, mediaType?: string) {
    super(status === undefined ? reason : `HTTP ${status}${reason ? ` (${reason})` : ""}`);
    this.name = "FailedAnswer";
    this.status = status;
    this.reason = reason;
    this.foreign = foreign;
    this.mediaType = mediaType;
  }
}

/** A StorageError naming the cause, where and what to check; its message and cause hold no secret. */
export function storageFailure(backend: string, error: unknown, endpoint: Endpoint): StorageError {
  const message = redact(describe(error, endpoint), endpoint.secrets);
  return new StorageError(backend, message, { cause: safeCopy(error, endpoint.secrets) });
}

/** `text` cleared of each secret (as is, URL-encoded, JSON-escaped, base64) and of any bearer token or URL credentials. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const form of secretForms(secrets)) out = out.split(form).join("***");
  return out
    .replace(/\b(Bearer|Basic)(\s+|%20|\+)(?!\*\*\*)[^\s"'<>,;&]+/gi, "$1$2***")
    .replace(/\b([a-z][a-z\d+.-]*:\/\/)[^\s/?#@]+@/gi, "$1***@");
}

/**
 * `text` as a short reason: redacted first (a cut must not leave part of a secret), long opaque
 * runs of letters and digits dropped too (a credential this backend does not know, as a client of
 * the user's may send it, or one encoded some other way), tags dropped, one line, at most `max`
 * characters.
 */
export function safeReason(text: string, secrets: readonly string[], max = 200): string {
  let line = redact(text, secrets).replace(
    /(?=[A-Za-z0-9+/]*\d)(?=[A-Za-z0-9+/]*[A-Za-z])[A-Za-z0-9+/]{32,}={0,2}/g,
    "***",
  );
  if (/<\/[a-z]|<!doctype|<html/i.test(line)) line = line.replace(/<[^>]*>/g, " "); // HTML: its words only
  line = line.replace(/[\s\p{Cc}]+/gu, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

const DNS_CODES = /^(ENOTFOUND|EAI_AGAIN|EAI_NONAME|EAI_FAIL|EAI_NODATA)$/;
const DNS_TEXT =
  /getaddrinfo|dns error|failed to lookup address|name or service not known|nodename nor servname|temporary failure in name resolution/i;
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|^ERR_SSL|^ERR_TLS|^EPROTO$/;
const TLS_TEXT = /certificate|handshake|\bTLS\b|\bSSL\b|wrong version number|UnknownIssuer/i;
const LOST_CODES = /^(ECONNRESET|EPIPE|ECONNABORTED|UND_ERR_SOCKET|UND_ERR_CLOSED)$/;
const LOST_TEXT =
  /socket connection was closed|socket closed unexpectedly|other side closed|connection (was )?(reset|closed)|broken pipe/i;
const AUTH_TEXT =
  /WRONGPASS|NOAUTH|unauthori[sz]ed|forbidden|invalid (username-)?password|invalid (or missing )?(auth )?token/i;

function describe(error: unknown, e: Endpoint): string {
  const at = e.address;
  const check = `check ${e.addressSetting} and that ${e.server} is up`;
  if (error instanceof Timeout) {
    const waiting = error.connecting ? "connecting to" : "waiting for an answer from";
    return `timed out after ${error.ms} ms ${waiting} ${at}; check that ${e.server} is up and reachable from here, or raise timeoutMs`;
  }
  if (error instanceof FailedAnswer) return answered(error, e);
  const chain = links(error, e.secrets);
  const codes = chain.map((l) => l.code).filter((c): c is string => c !== undefined);
  const code = codes.find((c) => /^E[A-Z_]+$|CERT|SELF_SIGNED|UNABLE|ERR_/.test(c));
  const tag = code ? ` [${code}]` : "";
  // Matched without the URLs some runtimes quote, so that a host name cannot look like a cause.
  const text = chain.map((l) => `${l.name}: ${l.message}`).join(" | ").replace(/\b[a-z][a-z\d+.-]*:\/\/\S+/gi, "");
  const detail = chain.at(-1)?.message ?? "";
  if (/internal error; reference = /.test(text)) {
    return `the request to ${at} did not complete (DNS lookup, connection or TLS failure; workerd does not say which); check the host name and port in ${e.addressSetting}, and that its certificate is valid`;
  }
  if (codes.some((c) => DNS_CODES.test(c)) || DNS_TEXT.test(text)) {
    return `cannot resolve ${e.host}: the DNS lookup for ${at} failed${tag}; check the host name in ${e.addressSetting} and this machine's DNS`;
  }
  if (codes.includes("ECONNREFUSED") || /connection refused/i.test(text)) {
    return `connection refused by ${at}${tag}: nothing listens there; check the host and port in ${e.addressSetting} and that ${e.server} runs`;
  }
  if (codes.some((c) => TLS_CODES.test(c)) || TLS_TEXT.test(text)) {
    return `TLS failure with ${at}: ${detail}${tag}; check that ${at} speaks TLS with a certificate this runtime trusts (a self-signed certificate, or a proxy in between?)`;
  }
  if (/Network connection lost/i.test(text)) {
    return `the connection to ${at} was refused or lost (workerd does not say which); ${check}`;
  }
  if (codes.includes("ETIMEDOUT") || /\b(TimeoutError|ConnectionTimeoutError)\b/.test(text)) {
    return `timed out waiting for ${at}${tag}: ${detail}; check that ${e.server} is up and reachable from here, or raise timeoutMs`;
  }
  if (codes.some((c) => LOST_CODES.test(c)) || LOST_TEXT.test(text)) {
    return `the connection to ${at} closed before an answer${tag}; ${check} (a TLS port reached without TLS, or the reverse?)`;
  }
  if (codes.some((c) => /^(EHOSTUNREACH|ENETUNREACH|EHOSTDOWN)$/.test(c))) {
    return `cannot reach ${at}${tag} (no route to the host); check ${e.addressSetting} and the network`;
  }
  if (/All the root nodes are unavailable/.test(text)) return `cannot reach any node of the cluster at ${at}; ${check}`;
  // The errors of an @upstash/redis client of the user's: an error envelope, or a body that is not JSON.
  const first = chain[0];
  if (first?.name === "UpstashJSONParseError") return answered(new FailedAnswer(undefined, "", true), e);
  if (first?.name === "UpstashError") return answered(new FailedAnswer(undefined, first.message), e);
  const said = chain.map((l) => `${l.name}: ${l.message}`).join(", caused by ");
  return `the request to ${at} failed: ${safeReason(said, e.secrets, 300)}`;
}

function answered(answer: FailedAnswer, e: Endpoint): string {
  const at = e.address;
  const status = answer.status === undefined ? "" : `HTTP ${answer.status}`;
  const said = [status, answer.reason && (status ? `(${answer.reason})` : answer.reason)].filter(Boolean).join(" ");
  if (answer.status === 401 || answer.status === 403 || AUTH_TEXT.test(answer.reason)) {
    return `${at} refused the credentials: ${said}; check ${e.credentialSetting}`;
  }
  if (answer.foreign) {
    const body = answer.mediaType ? `a ${answer.mediaType} body` : "a body";
    return `${at} answered ${
      said ? `${said} ` : ""
    }with ${body} that is not from ${e.server} (a proxy or gateway in between?); check ${e.addressSetting}`;
  }
  if (answer.status !== undefined) {
    return `${at} answered ${said}; check ${e.addressSetting} and that ${e.server} is healthy`;
  }
  return `${at} answered an error: ${said}; check that ${e.addressSetting} names a Redis server this backend can use (Lua scripting, writable)`;
}

interface Link {
  name: string;
  message: string;
  code: string | undefined;
}

/** The error and its causes, each message cut to a safe reason (bodies that libraries quote are dropped). */
function links(error: unknown, secrets: readonly string[]): Link[] {
  const chain: Link[] = [];
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    if (!(e instanceof Error)) {
      chain.push({ name: "Error", message: safeReason(String(e), secrets), code: undefined });
      break;
    }
    let message = e.message;
    if (e.name === "UpstashJSONParseError") message = "the answer is not JSON (body not shown)";
    const command = message.indexOf(", command was:"); // @upstash/redis appends the whole request
    if (command !== -1) message = message.slice(0, command);
    message = message.replace(/error sending request for url \([^)]*\):\s*|client error \([^)]*\):\s*/g, "");
    const code = (e as { code?: unknown }).code;
    chain.push({
      name: e.name,
      message: safeReason(message, secrets),
      code: typeof code === "string" ? code : undefined,
    });
    e = e.cause;
  }
  return chain;
}

/** A copy of `error` and its causes to hang on the StorageError: names, codes and stack frames kept, messages made safe. */
function safeCopy(error: unknown, secrets: readonly string[]): Error | undefined {
  const chain = links(error, secrets);
  let copy: Error | undefined;
  for (let i = chain.length - 1; i >= 0; i--) {
    const link = chain[i];
    copy = new Error(link.message, copy === undefined ? undefined : { cause: copy });
    copy.name = link.name;
    if (link.code !== undefined) Object.assign(copy, { code: link.code });
  }
  const frames = error instanceof Error ? (error.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l)) : [];
  if (copy !== undefined) copy.stack = [`${copy.name}: ${copy.message}`, ...frames].join("\n");
  return copy;
}

/** Each secret as it may appear in text: as is, URL-encoded, JSON-escaped, base64 (standard or URL-safe) at any offset. */
function secretForms(secrets: readonly string[]): string[] {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret === "") continue;
    const encoded = encodeURIComponent(secret);
    forms.add(secret).add(encoded).add(encoded.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()));
    forms.add(JSON.stringify(secret).slice(1, -1));
    const bytes = new TextEncoder().encode(secret);
    forms.add(base64(bytes));
    // Inside a longer base64 text (a whole header, "Bearer <token>"), the secret's bytes start at
    // one of three offsets in a 3-byte group: the groups made of its bytes alone are the same.
    for (let offset = 0; offset < 3; offset++) {
      const padded = new Uint8Array(offset + bytes.length);
      padded.set(bytes, offset);
      const first = offset === 0 ? 0 : 1;
      const last = Math.floor((offset + bytes.length) / 3);
      const core = base64(padded).slice(4 * first, 4 * last);
      if (core.length >= 8) forms.add(core);
    }
  }
  for (const form of [...forms]) forms.add(form.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""));
  forms.delete("");
  return [...forms].sort((a, b) => b.length - a.length);
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
