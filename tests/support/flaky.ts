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

  constructor(readonly inner: Storage) {}

  async publish(update: ProcessUpdate): Promise<PublishOutcome> {
    this.publishes.push(update);
    if (this.down) throw new Error("connection refused (simulated)");
    const outcome = await this.inner.publish(update);
    if (this.loseAcks) throw new Error("response lost (simulated)");
    return outcome;
  }
  read(): Promise<StoredState> {
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
