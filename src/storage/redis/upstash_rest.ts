/**
 * The REST client the Upstash backend builds from a URL and token: a script runs as EVALSHA, and
 * as EVAL when the server does not have it yet, as `@upstash/redis` runs them, one `fetch` each.
 * It is our own so that a failed answer keeps its HTTP status and no more of its body than a short
 * reason (an error page that echoes the request's headers goes no further), and a timeout knows
 * its limit. Results come back as the scripts returned them (no deserialization, no base64).
 * @module
 */
import { FailedAnswer, safeReason, Timeout } from "./errors.ts";
import type { UpstashClient } from "./options.ts";

/**
 * A client of the Upstash REST API at `url`, each request bounded by `timeoutMs`.
 * @param url The REST URL, checked before (`checkUpstashCredentials`).
 * @param token The REST token, sent as a bearer token and kept out of every error.
 * @param timeoutMs The limit of one request, from its start to the end of its answer.
 */
export function upstashRestClient(url: string, token: string, timeoutMs: number): UpstashClient {
  const endpoint = url.replace(/\/+$/, "");
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  let syncToken = ""; // read-your-writes across replicas, as @upstash/redis keeps it

  const send = async (command: Array<string | number>): Promise<unknown> => {
    const signal = AbortSignal.timeout(timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await fetch(endpoint, {
        method: "POST",
        headers: syncToken === "" ? headers : { ...headers, "upstash-sync-token": syncToken },
        body: JSON.stringify(command),
        signal,
      });
      text = await response.text();
    } catch (error) {
      if (signal.aborted) throw new Timeout(timeoutMs, "the request");
      throw error;
    }
    syncToken = response.headers.get("upstash-sync-token") ?? syncToken;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const envelope = typeof body === "object" && body !== null ? body as { result?: unknown; error?: unknown } : {};
    if (response.ok && typeof envelope.error !== "string" && "result" in envelope) return envelope.result;
    const said = typeof envelope.error === "string" ? envelope.error : "";
    const status = response.statusText;
    const reason = said.toLowerCase().startsWith(status.toLowerCase()) ? said : said ? `${status}: ${said}` : status;
    // A 200 with an error envelope is the server's error reply; no envelope, not Upstash's answer.
    const reply = response.ok && said !== "";
    const type = /^[\w.+-]+\/[\w.+-]+/.exec(response.headers.get("content-type") ?? "")?.[0];
    throw new FailedAnswer(reply ? undefined : response.status, safeReason(reason, [token]), said === "", type);
  };

  return {
    createScript(source: string) {
      let sha: Promise<string> | undefined;
      return {
        async exec(keys: string[], args: string[]): Promise<unknown> {
          const rest = [keys.length, ...keys, ...args];
          try {
            return await send(["EVALSHA", await (sha ??= sha1(source)), ...rest]);
          } catch (error) {
            if (!(error instanceof FailedAnswer && /\bNOSCRIPT\b/.test(error.reason))) throw error;
            return await send(["EVAL", source, ...rest]);
          }
        },
      };
    },
  };
}

async function sha1(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
