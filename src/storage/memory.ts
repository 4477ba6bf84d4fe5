/**
 * The memory backend: every exporter in one process or isolate shares it. It is the default for a
 * single process, and lets tests run many simulated processes against one storage and one clock.
 * @module
 */
export {
  type MemoryJournal,
  type MemorySnapshot,
  MemoryStorage,
  type MemoryStorageOptions,
  sharedMemoryStorage,
} from "./memory/storage.ts";
