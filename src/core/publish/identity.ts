/**
 * Process identity: unique across hosts and restarts, so pods sharing one storage never collide.
 * A process retired by mistake takes a new incarnation of the same identity when it publishes again.
 * @module
 */

import type { ProcessFacts } from "../runtime.ts";

export type { ProcessFacts };

/** A process's identity and its incarnations. */
export class ProcessIdentity {
  /** The part that stays the same for the life of the process. */
  readonly base: string;
  #incarnation = 0;

  /**
   * Creates an identity for this process.
   * @param facts Host name and pid where the runtime has them; a random part is always added.
   */
  constructor(facts: ProcessFacts = {}) {
    const random = crypto.randomUUID().replace(/-/g, "").slice(0, 10);
    const host = (facts.hostname ?? "").replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 40);
    const parts = [host, facts.pid === undefined ? "" : String(facts.pid), random].filter((p) => p !== "");
    this.base = parts.join("-");
  }

  /** The identity under which the process publishes now. */
  get id(): string {
    return this.#incarnation === 0 ? this.base : `${this.base}.${this.#incarnation}`;
  }

  /** Moves to a fresh incarnation, after storage said the current one was retired. */
  reincarnate(): string {
    this.#incarnation++;
    return this.id;
  }
}
