/**
 * The scrape, from the request to the answer, in one readable path: the lock on `/metrics`
 * (before any storage call), this process's publish and the read of every process (one round trip
 * where the backend can), retirement and merge (the collector), continuity (no counter served
 * lower), the damage and name collisions found, and the render in the format `Accept` asks for;
 * all before the scraper's deadline, and shared with the scrapes that come together.
 * @module
 */
import type { Collection, Collector } from "../collect/collector.ts";
import type { Continuity } from "../collect/continuity.ts";
import { configErrorIn, describeError, StorageError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Publisher } from "../publish/publisher.ts";
import { contentTypeOf, dropCollisions, negotiateFormat } from "../render/render.ts";
import type { MetricsGuard } from "../serve/auth.ts";
import { SCRAPE_TIMEOUT_HEADER, scrapeDeadlineMs, within } from "../serve/deadline.ts";
import { ScrapeReport } from "../serve/scrape_report.ts";
import { SharedScrape } from "../serve/shared_scrape.ts";
import type { Storage, StoredState } from "../storage.ts";
import { damageFamily, type SelfMetrics } from "./self_metrics.ts";

/** How long a scrape waits for a storage that does not say how long its calls may take, in ms. */
const DEFAULT_TIMEOUT_MS = 5000;

/** What a scrape is made of. */
export interface ScrapeParts {
  readonly storage: Storage;
  readonly publisher: Publisher;
  readonly collector: Collector;
  readonly continuity: Continuity;
  readonly guard: MetricsGuard;
  readonly selfMetrics: SelfMetrics;
  readonly logger: Logger;
  readonly namespace: string;
  /** Collections that ended less than this long ago are served again, in ms. */
  readonly minScrapeIntervalMs: number;
  /** Publish this process's values first. */
  readonly publishOnScrape: boolean;
  /** Runs before the read: a supervisor asking its workers to publish. */
  readonly beforeCollect?: () => Promise<void>;
  /** Runs at the start of each collection (the check for a second prom-client copy). */
  readonly beforeEach?: () => void;
}

/** Serves scrapes for one exporter. */
export class Scrape {
  readonly #p: ScrapeParts;
  readonly #shared: SharedScrape;
  readonly #report: ScrapeReport;
  #failing = false;

  /** @param parts The exporter's parts a scrape uses. */
  constructor(parts: ScrapeParts) {
    this.#p = parts;
    this.#shared = new SharedScrape(() => this.collect(), parts.minScrapeIntervalMs);
    this.#report = new ScrapeReport(
      parts.logger,
      parts.storage.kind,
      `${parts.namespace}_exporter_storage_damaged_entries`,
    );
  }

  /**
   * Answers a scrape request: 401/403 from the lock, else the aggregate in the negotiated format,
   * or 503 with the reason when storage did not answer by the deadline (counted, logged once).
   */
  async answer(request: Request): Promise<Response> {
    const p = this.#p;
    const refusal = await p.guard.check(request);
    if (refusal !== undefined) return refusal;
    const format = negotiateFormat(request.headers.get("accept"));
    const kind = p.storage.kind;
    const deadlineMs = scrapeDeadlineMs(
      request.headers.get(SCRAPE_TIMEOUT_HEADER),
      p.storage.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    );
    const late = () =>
      new StorageError(
        kind,
        `no answer${p.storage.address ? ` from ${p.storage.address}` : ""} within ${deadlineMs} ms ` +
          `(the scrape's deadline); the storage call is abandoned`,
        { transient: true },
      );
    try {
      const body = await within(this.#shared.body(format), deadlineMs, late);
      this.#failing = false;
      return new Response(body as BodyInit, { headers: { "content-type": contentTypeOf(format) } });
    } catch (error) {
      const config = configErrorIn(error);
      if (config !== undefined) return plainAnswer(500, `metrics are not available: ${describeError(config)}`);
      p.selfMetrics.scrapeErrors.inc({ backend: kind });
      const message = `reading ${kind} storage for a scrape failed: ${describeError(error)}`;
      if (!this.#failing) p.logger.error(message);
      this.#failing = true;
      return plainAnswer(503, message);
    }
  }

  /**
   * One collection: this process's publish (and the read in the same round trip, without peers to
   * flush first), retirement and merge, continuity, and the damage and collisions found.
   */
  async collect(): Promise<Collection> {
    const p = this.#p;
    p.beforeEach?.();
    const state = await this.#publishAndRead();
    const collection = await p.collector.collect(state);
    p.continuity.keep(collection.families);
    const family = damageFamily(p.namespace, p.storage.kind, collection.damage);
    this.#report.collisions(dropCollisions(collection.families));
    this.#report.damage(collection.damage);
    collection.families.set(family.name, family);
    return collection;
  }

  /** This process's publish (and the read, where one round trip does both); undefined when the read is still to do. */
  async #publishAndRead(): Promise<StoredState | undefined> {
    const { publisher, beforeCollect, publishOnScrape, storage } = this.#p;
    const own: Promise<StoredState | undefined> = !publishOnScrape
      ? Promise.resolve(undefined)
      : beforeCollect === undefined
      ? publisher.publishAndRead()
      : publisher.publish().then(() => undefined);
    const [outcome] = await Promise.all([
      own.then((state) => ({ state, error: undefined as unknown }), (error: unknown) => ({ state: undefined, error })),
      beforeCollect?.().catch(() => {}),
    ]);
    const error = publishOnScrape ? outcome.error : publisher.lastError;
    if (configErrorIn(error) !== undefined) throw error;
    // Serving what storage holds while this process cannot write to it would hide the failure
    // behind a 200 (an unwritable directory reads as empty): the scrape fails with the reason.
    if (error !== undefined && !(error instanceof StorageError && error.transient)) {
      throw new StorageError(
        storage.kind,
        `this process cannot publish, so the aggregate would be incomplete: ${describeError(error)}`,
        { cause: error },
      );
    }
    return outcome.state;
  }
}

/** A plain-text answer. */
export function plainAnswer(status: number, message: string): Response {
  return new Response(`${message}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}
