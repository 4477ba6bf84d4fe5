/**
 * Coalesced publishing, for isolates that have no timers between requests (Workers) or that may
 * be frozen after a response (Deno Deploy). The first request of a window opens it and hands the
 * window's one publish to its `waitUntil`, which keeps the isolate alive until that publish ends;
 * every request until the window closes shares that publish and hands nothing (a promise of
 * another request's context must not be awaited there). Cost: at most one storage request per window.
 * @module
 */

/** One publish per window, shared by every request that asks within it. */
export class FlushWindow {
  readonly #publish: () => Promise<void>;
  readonly #windowMs: number;
  #open: Promise<void> | undefined;

  /**
   * @param publish Publishes everything recorded so far (the publisher keeps one in flight at most).
   * @param windowMs How long a window stays open before its publish starts, in ms.
   */
  constructor(publish: () => Promise<void>, windowMs: number) {
    this.#publish = publish;
    this.#windowMs = windowMs;
  }

  /**
   * The publish of the current window, opening one if none is open. It never rejects: a failed
   * publish leaves its values pending for the next window.
   */
  request(): Promise<void> {
    return this.#open ??= this.#run();
  }

  async #run(): Promise<void> {
    // Always yields first, so that `request()` has stored this promise before it is cleared.
    await new Promise((resolve) => this.#windowMs > 0 ? setTimeout(resolve, this.#windowMs) : resolve(undefined));
    // Closed before the snapshot is taken: a request that finishes from here on opens the next
    // window, so what it recorded is never left out of both.
    this.#open = undefined;
    await this.#publish().catch(() => {});
  }
}
