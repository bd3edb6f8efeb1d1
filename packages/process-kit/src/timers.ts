/** Keyed one-shot timers for a supervisor's event loop: setting a key replaces its timer. */
export interface TimerTable {
  set(key: string, ms: number, fire: () => void): void;
  clear(key: string): void;
  clearAll(): void;
}

/** Why: reducers name their timers (`check:3`, `force`); the loop owns them and can drop all at exit. */
export function createTimerTable(): TimerTable {
  const timers = new Map<string, NodeJS.Timeout>();
  return {
    set(key, ms, fire) {
      clearTimeout(timers.get(key));
      timers.set(
        key,
        setTimeout(() => {
          timers.delete(key);
          fire();
        }, ms),
      );
    },
    clear(key) {
      clearTimeout(timers.get(key));
      timers.delete(key);
    },
    clearAll() {
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
    },
  };
}
