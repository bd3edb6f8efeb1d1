// The master's one serial loop (STYLE lesson 3): signal handlers, worker messages, exits, timers
// and the hand-off tracker only push events; the loop feeds them one at a time to a step
// function. Until it is opened, every event waits — none reaches the reducer before `start`.

/**
 * Why: an event that reached the reducer before the master was running used to be dropped (a
 * TERM during start-up; an old master's `oldGone` while the others were still being linked,
 * which left a HUP storm's new master counting workers of a dead master for ever).
 */
export class EventLoop<E> {
  private readonly queue: E[] = [];
  private opened = false;
  private draining = false;

  constructor(private readonly step: (event: E) => void) {}

  /** Queues an event; runs it (and anything it queues) now when the loop is open and idle. */
  push(event: E): void {
    this.queue.push(event);
    if (this.opened) this.drain();
  }

  /** Removes and returns the first queued event matching `pred` (only before `open`). */
  take(pred: (event: E) => boolean): E | undefined {
    const i = this.queue.findIndex(pred);
    return i < 0 ? undefined : this.queue.splice(i, 1)[0];
  }

  /** Opens the loop: `first` runs ahead of everything queued so far, then the rest in order. */
  open(first: E): void {
    if (this.opened) throw new Error('the event loop is already open');
    this.queue.unshift(first);
    this.opened = true;
    this.drain();
  }

  get isOpen(): boolean {
    return this.opened;
  }

  // --- internal ---

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) this.step(this.queue.shift()!);
    } finally {
      this.draining = false;
    }
  }
}
