/**
 * What a scrape says in the log about the state of what it served: damage found in storage (when
 * it changes, and every 10 minutes while it lasts) and metrics left out because their names
 * collide (once each). Rate-limited, so a scrape every second does not flood the log.
 * @module
 */
import type { StorageDamage } from "../collect/collector.ts";
import type { Logger } from "../log.ts";

/** Logs, without repeating itself, what scrapes find wrong. */
export class ScrapeReport {
  #damage: { summary: string; at: number } | undefined;
  readonly #collisions = new Set<string>();

  /**
   * @param logger Where the lines go.
   * @param backend The storage kind, named in each line.
   * @param gauge The name of the gauge that shows the damage on every scrape.
   * @param clock Current time in milliseconds.
   */
  constructor(
    readonly logger: Logger,
    readonly backend: string,
    readonly gauge: string,
    readonly clock: () => number = Date.now,
  ) {}

  /** Says each collision once. */
  collisions(messages: readonly string[]): void {
    for (const message of messages) {
      if (this.#collisions.size >= 100 || this.#collisions.has(message)) continue;
      this.#collisions.add(message);
      this.logger.error(message);
    }
  }

  /** Says what is damaged when that changes, and every 10 minutes while it lasts; and when it is gone. */
  damage(damage: StorageDamage): void {
    const damaged = damage.corrupt + damage.strays + damage.setAside > 0;
    if (!damaged) {
      if (this.#damage !== undefined) this.logger.warn(`${this.backend} storage: no damage left`);
      this.#damage = undefined;
      return;
    }
    const summary = `${damage.corrupt}/${damage.strays}/${damage.setAside}`;
    const now = this.clock();
    const last = this.#damage;
    if (last !== undefined && last.summary === summary && now - last.at < 600_000) return;
    this.#damage = { summary, at: now };
    this.logger.warn(
      `${this.backend} storage: ${damage.corrupt} record(s) that do not read, ${damage.strays} stray ` +
        `entr(ies), ${damage.setAside} set aside (nothing is deleted; shown in ${this.gauge})` +
        (damage.problems.length > 0 ? `: ${damage.problems.join("; ")}` : ""),
    );
  }
}
