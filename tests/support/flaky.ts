/**
 * A storage wrapper that fails on demand. This is a fake, used only because the memory backend
 * cannot fail for real; the real outage tests run against real backends.
 */
import type { ProcessUpdate, PublishOutcome, Retirement, Storage, StoredState } from "../../src/core/storage.ts";

export class FlakyStorage implements Storage {
  readonly kind = "flaky";
  down = false;
  /** Apply the publish but then fail, as when the response is lost on the way back. */
  loseAcks = false;
  readonly publishes: ProcessUpdate[] = [];
  /** Storage reads asked for so far. */
  reads = 0;
  /** Each publish waits this long first, as over a slow network. */
  delayMs = 0;

  constructor(readonly inner: Storage) {}

  async publish(update: ProcessUpdate): Promise<PublishOutcome> {
    this.publishes.push(update);
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.down) throw new Error("connection refused (simulated)");
    const outcome = await this.inner.publish(update);
    if (this.loseAcks) throw new Error("response lost (simulated)");
    return outcome;
  }
  read(): Promise<StoredState> {
    this.reads++;
    if (this.down) return Promise.reject(new Error("connection refused (simulated)"));
    return this.inner.read();
  }
  retire(r: Retirement): Promise<boolean> {
    return this.inner.retire(r);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
