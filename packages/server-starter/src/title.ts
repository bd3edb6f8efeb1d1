import type { SupervisorState } from './state.js';

/** Why: `ps` shows what start-server is doing: `start-server gen 3 pid 1234 (+1 old) -- app --opt`. */
export function renderTitle(state: SupervisorState, command: readonly string[]): string {
  const cur = state.gens.find((g) => g.role === 'current');
  const olds = state.gens.filter((g) => g.role === 'old').length;
  return (
    `start-server` +
    (cur ? ` gen ${cur.generation} pid ${cur.pid}` : ' starting') +
    (olds ? ` (+${olds} old)` : '') +
    ` -- ${command.join(' ')}`
  );
}
