import type { SignalName } from '@baton/process-kit';
import { messages } from '../messages.js';
import { answer, type Ctx } from './context.js';
import { findGroup } from './groups.js';
import type { MasterEvent } from './model.js';
import { makeRoomForSuccessor, refusedWhileReplaced } from './predecessor.js';
import { requestReload } from './reload.js';
import { oneFewer, oneMore } from './scale.js';
import { beginStop } from './stop.js';
import { giveBackOnStop } from './successor.js';
import { sendAll } from './workers.js';

// What each signal means to the master (SIGNALS.md), one arm each, as in unicorn's master: the
// arms only change what is wanted; the reconciliation after every event does the rest.

type Arm = (c: Ctx, sig: SignalName) => void;

const ARMS: Partial<Record<SignalName, Arm>> = {
  SIGTERM: (c, sig) => stopSignal(c, sig, 'quick'),
  SIGINT: (c, sig) => stopSignal(c, sig, 'quick'),
  SIGQUIT: (c, sig) => stopSignal(c, sig, 'graceful'),
  SIGUSR1: (c, sig) => forward(c, sig, 'aborting the current jobs', { t: 'abort' }),
  SIGUSR2: (c, sig) => setPaused(c, sig, true),
  SIGCONT: (c, sig) => setPaused(c, sig, false),
  SIGTTIN: (c) => void (refusedWhileReplaced(c, 'TTIN') || oneMore(c)),
  SIGTTOU: (c) => (c.s.replacedBy ? makeRoomForSuccessor(c) : oneFewer(c)),
  SIGHUP: (c) => requestReload(c, 'HUP'),
};

/** Why: signals (and a stop signal kept during start-up) reach the master only through here. */
export function onSignal(c: Ctx, sig: SignalName): void {
  if (c.s.phase === 'done' || c.s.phase === 'idle') return;
  const arm = ARMS[sig];
  if (arm) arm(c, sig);
  else c.log(messages.received(sig, 'ignored', c.s.workers.length), 'debug');
}

// --- internal ---

const STOPS = {
  quick: 'quick shutdown: workers stop now, their jobs go back to the queues',
  graceful: 'graceful shutdown: workers finish their jobs',
} as const;

/** TERM/INT (quick) and QUIT (graceful); during a stop only TERM upgrading a graceful one counts. */
function stopSignal(c: Ctx, sig: SignalName, mode: 'graceful' | 'quick'): void {
  if (c.s.phase === 'stopping' && (mode === 'graceful' || c.s.stopMode === 'quick')) {
    c.log(messages.stopAgain(sig, c.s.workers.length));
    return;
  }
  c.log(messages.received(sig, STOPS[mode], c.s.workers.length));
  giveBackOnStop(c);
  beginStop(c, mode);
}

function forward(c: Ctx, sig: SignalName, action: string, message: Parameters<typeof sendAll>[1]): void {
  c.log(messages.received(sig, action, c.s.workers.length));
  sendAll(c, message);
}

/** USR2 pauses, CONT resumes (workers started meanwhile start paused). */
function setPaused(c: Ctx, sig: SignalName, paused: boolean): void {
  // CONT resumes every group paused on its own too.
  const groupPaused = c.s.groups.some((g) => g.paused);
  if (!paused) for (const g of c.s.groups) g.paused = false;
  if (!paused && !c.s.paused && !groupPaused) {
    c.log(messages.received(sig, 'not paused; nothing to do', c.s.workers.length), 'debug');
    return;
  }
  c.s.paused = paused;
  forward(c, sig, paused ? 'pausing' : 'resuming', { t: paused ? 'pause' : 'resume' });
}

/** The control socket's `pause [GROUP]`/`resume [GROUP]`: one group's workers finish their job and take no new one, or go on. */
export function pauseGroup(c: Ctx, e: Extract<MasterEvent, { type: 'pause' }>): void {
  const s = c.s;
  if (s.phase !== 'running') return answer(c, e.reply, { ok: false, error: `the master is ${s.phase}` });
  if (e.group === undefined) {
    onSignal(c, e.paused ? 'SIGUSR2' : 'SIGCONT');
    return answer(c, e.reply, { ok: true, paused: e.paused });
  }
  const found = findGroup(s, e.group);
  if ('error' in found) return answer(c, e.reply, { ok: false, error: found.error });
  const g = found.group;
  if (g.paused !== e.paused) {
    c.log(messages.groupPaused(g.name, e.paused, s.workers.filter((w) => w.group === g.name).length));
    g.paused = e.paused;
    // A master paused by USR2 keeps its workers paused whatever their group says.
    if (!s.paused) for (const w of s.workers) if (w.group === g.name && w.phase === 'ready' && w.pid !== undefined && !w.stop) c.fx.push({ type: 'send', pid: w.pid, message: { t: e.paused ? 'pause' : 'resume' } });
  }
  answer(c, e.reply, { ok: true, group: g.name, paused: e.paused });
}
