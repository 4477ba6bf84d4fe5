/**
 * Scrapes that arrive together, or within a minimum interval of the last one, share one
 * collection (one publish and one storage read) and its rendering. A flood of `/metrics`
 * requests, or a pair of Prometheus servers, costs at most one read per interval.
 * @module
 */
import type { MergeResult } from "../collect/merge.ts";
import { render, type ScrapeFormat } from "../render/render.ts";
import { ProtobufEncoder } from "../render/protobuf.ts";

interface Collection {
  readonly merged: Promise<MergeResult>;
  readonly rendered: Map<ScrapeFormat, string | Uint8Array>;
  settledAt: number | undefined;
}

/** Shares collections between scrapes. */
export class SharedScrape {
  readonly #gather: () => Promise<MergeResult>;
  readonly #minIntervalMs: number;
  #last: Collection | undefined;
  /** Kept between scrapes: it keeps each series' encoded labels. */
  readonly #protobuf = new ProtobufEncoder();

  /**
   * @param gather Collects the aggregate (publishing this process's values first, where configured).
   * @param minIntervalMs A collection that ended less than this long ago is served again.
   */
  constructor(gather: () => Promise<MergeResult>, minIntervalMs: number) {
    this.#gather = gather;
    this.#minIntervalMs = minIntervalMs;
  }

  /** The aggregate in `format`, from the collection under way or a recent one, else a new one. */
  async body(format: ScrapeFormat): Promise<string | Uint8Array> {
    const collection = this.#current();
    const merged = await collection.merged;
    let body = collection.rendered.get(format);
    if (body === undefined) {
      const families = merged.families.values();
      body = format === "protobuf" ? this.#protobuf.encode(families) : render(families, format);
      collection.rendered.set(format, body);
    }
    return body;
  }

  #current(): Collection {
    const last = this.#last;
    if (
      last !== undefined && (last.settledAt === undefined || performance.now() - last.settledAt < this.#minIntervalMs)
    ) {
      return last;
    }
    const merged = this.#gather();
    const collection: Collection = { merged, rendered: new Map(), settledAt: undefined };
    const settle = () => {
      collection.settledAt = performance.now();
    };
    merged.then(settle, settle);
    this.#last = collection;
    return collection;
  }
}
