/**
 * The scrape's deadline: Prometheus sends its scrape timeout with every scrape
 * (`X-Prometheus-Scrape-Timeout-Seconds`); a scrape answers before it, less a margin for the answer
 * to travel, with 503 and the reason when storage has not answered by then. The storage call is
 * abandoned, not cancelled: it ends by its own timeout, and later scrapes share it rather than
 * stack new ones behind it.
 * @module
 */

/** The header that carries Prometheus's scrape timeout, in seconds. */
export const SCRAPE_TIMEOUT_HEADER = "x-prometheus-scrape-timeout-seconds";

/**
 * How long a scrape may take, in ms: the scraper's timeout less a tenth (at least 100 ms, at most
 * one second, and never less than half the timeout), or `fallbackMs` when the request carries none
 * that reads.
 */
export function scrapeDeadlineMs(header: string | null, fallbackMs: number): number {
  const seconds = header === null ? Number.NaN : Number(header.trim());
  if (!(seconds > 0) || !Number.isFinite(seconds)) return fallbackMs;
  const ms = seconds * 1000;
  return Math.max(ms / 2, ms - Math.min(1000, Math.max(100, ms / 10)));
}

/**
 * `promise`, or a rejection with `timeout()` once `ms` have passed; the promise itself goes on
 * (its rejection, if any, is handled).
 */
export function within<T>(promise: Promise<T>, ms: number, timeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeout()), ms);
  });
  promise.catch(() => {});
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
