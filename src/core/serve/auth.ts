/**
 * The lock on `/metrics`: a bearer token and/or a basic-auth user and password (the two forms
 * Prometheus' `scrape_config` speaks: `authorization` and `basic_auth`), compared in constant
 * time, checked before anything is read from storage, so an anonymous scrape costs no storage
 * request. Edge runtimes serve nothing until a credential is set or the metrics are declared
 * public. Secrets never reach a log, an error or a response.
 * @module
 */

import type { MetricsLock } from "../config/metrics_lock.ts";

export type { MetricsLock };

const encoder = new TextEncoder();

/** Checks scrapes against a {@link MetricsLock}. */
export class MetricsGuard {
  readonly #lock: MetricsLock;
  #expected: Promise<Uint8Array[]> | undefined;

  /**
   * Creates a guard.
   * @param lock The credentials, and whether none set means open or locked.
   */
  constructor(lock: MetricsLock) {
    this.#lock = lock;
  }

  /** A refusal when `request` may not scrape, or undefined when it may. */
  async check(request: Request): Promise<Response | undefined> {
    const { token, basic } = this.#lock;
    if (token === undefined && basic === undefined) {
      if (this.#lock.open) return undefined;
      return refuse(
        403,
        "metrics are locked on this runtime until a credential is set: set PROMETHEUS_METRICS_TOKEN (on Workers: " +
          "`npx wrangler secret put PROMETHEUS_METRICS_TOKEN`) and give Prometheus the same value as " +
          "`authorization: { credentials: ... }`, or set PROMETHEUS_METRICS_PUBLIC=true (option publicMetrics) " +
          "to serve them to anyone",
      );
    }
    const presented = presentedCredential(request.headers.get("authorization") ?? "");
    if (presented !== undefined && (await this.#matches(presented))) return undefined;
    const ways: string[] = [];
    const challenges: string[] = [];
    if (token !== undefined) {
      ways.push("the token set in PROMETHEUS_METRICS_TOKEN as `Authorization: Bearer <token>`");
      challenges.push('Bearer realm="metrics"');
    }
    if (basic !== undefined) {
      ways.push(
        "the user and password set in PROMETHEUS_METRICS_USERNAME and PROMETHEUS_METRICS_PASSWORD (basic auth)",
      );
      challenges.push('Basic realm="metrics", charset="UTF-8"');
    }
    return refuse(401, `send ${ways.join(", or ")}`, { "www-authenticate": challenges.join(", ") });
  }

  /** Whether `presented` (`bearer:<token>` or `basic:<user>:<password>`) is one of the credentials. */
  async #matches(presented: string): Promise<boolean> {
    // Every side is hashed first, so each comparison takes the same time whatever the lengths,
    // and every credential is compared whichever one matches.
    this.#expected ??= Promise.all(this.#credentials().map(digest));
    const [expected, actual] = await Promise.all([this.#expected, digest(presented)]);
    let matched = false;
    for (const candidate of expected) {
      let difference = 0;
      for (let i = 0; i < candidate.length; i++) difference |= candidate[i] ^ actual[i];
      matched = matched || difference === 0;
    }
    return matched;
  }

  #credentials(): string[] {
    const { token, basic } = this.#lock;
    const out: string[] = [];
    if (token !== undefined) out.push(`bearer:${token}`);
    if (basic !== undefined) out.push(`basic:${basic.username}:${basic.password}`);
    return out;
  }
}

/** The credential an Authorization header carries, in the guard's `kind:secret` form. */
function presentedCredential(header: string): string | undefined {
  const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (bearer !== null) return `bearer:${bearer[1]}`;
  const basic = /^Basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(header);
  if (basic === null) return undefined;
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(atob(basic[1]), (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(":");
  return colon === -1 ? undefined : `basic:${decoded.slice(0, colon)}:${decoded.slice(colon + 1)}`;
}

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

function refuse(status: 401 | 403, message: string, headers: Record<string, string> = {}): Response {
  const reason = status === 401 ? "Unauthorized" : "Forbidden";
  return new Response(`${reason}: ${message}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}
