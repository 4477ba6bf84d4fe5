/**
 * The lock on `/metrics`: a bearer token compared in constant time, checked before anything is
 * read from storage, so an anonymous scrape costs no storage request. Edge runtimes serve nothing
 * until a token is set or the metrics are declared public. The token never reaches a log, an
 * error or a response.
 * @module
 */

/** How `/metrics` is locked, after configuration. */
export interface MetricsLock {
  /** The bearer token a scrape must present, when one is set. */
  readonly token: string | undefined;
  /** Serve to anyone without a token (where the runtime would lock by default). */
  readonly open: boolean;
}

const encoder = new TextEncoder();

/** Checks scrapes against a {@link MetricsLock}. */
export class MetricsGuard {
  readonly #lock: MetricsLock;
  #expected: Promise<Uint8Array> | undefined;

  /**
   * Creates a guard.
   * @param lock The token, and whether an unset token means open or locked.
   */
  constructor(lock: MetricsLock) {
    this.#lock = lock;
  }

  /** A refusal when `request` may not scrape, or undefined when it may. */
  async check(request: Request): Promise<Response | undefined> {
    const token = this.#lock.token;
    if (token === undefined) {
      if (this.#lock.open) return undefined;
      return refuse(
        403,
        "metrics are locked on this runtime until a token is set: set PROMETHEUS_METRICS_TOKEN (on Workers: " +
          "`npx wrangler secret put PROMETHEUS_METRICS_TOKEN`) and give Prometheus the same value as " +
          "`authorization: { credentials: ... }`, or set PROMETHEUS_METRICS_PUBLIC=true (option publicMetrics) " +
          "to serve them to anyone",
      );
    }
    const header = request.headers.get("authorization") ?? "";
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (match !== null && (await this.#matches(match[1]))) return undefined;
    return refuse(
      401,
      "send the token set in PROMETHEUS_METRICS_TOKEN as `Authorization: Bearer <token>`",
      { "www-authenticate": 'Bearer realm="metrics"' },
    );
  }

  async #matches(presented: string): Promise<boolean> {
    // Both sides are hashed first, so the comparison takes the same time whatever the lengths.
    this.#expected ??= digest(this.#lock.token ?? "");
    const [expected, actual] = await Promise.all([this.#expected, digest(presented)]);
    let difference = 0;
    for (let i = 0; i < expected.length; i++) difference |= expected[i] ^ actual[i];
    return difference === 0;
  }
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

/** Whether `token` can be sent in an Authorization header (visible ASCII, no spaces). */
export function isValidToken(token: string): boolean {
  return /^[\x21-\x7e]{1,4096}$/.test(token);
}
