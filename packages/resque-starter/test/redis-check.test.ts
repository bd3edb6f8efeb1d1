import { describe, expect, it } from 'vitest';
import { classifyRefusal, renderMissing } from '../src/redis-check.js';

describe('classifyRefusal', () => {
  it.each([
    ["NOPERM User u has no permissions to run the 'eval' command", 'command'],
    ["NOPERM No permissions to access a key", 'key'],
    ['NOPERM this user has no permissions to access one of the keys used as arguments', 'key'],
    ['NOPERM No permissions to access a channel', 'channel'],
    // From a script (Redis 7.0).
    ["ERR The user executing the script can't run this command or subcommand script: abc, on @user_script:9.", 'command'],
    ["ERR The user executing the script can't access at least one of the keys mentioned in the command", 'key'],
    ["ERR The user executing the script can't publish to the channel mentioned in the command", 'channel'],
    // rename-command X "": the server does not know X any more.
    ["ERR unknown command 'lset', with args beginning with: 'k' '0' 'x' ", 'unknown'],
    ["ERR unknown subcommand 'setname'. Try CLIENT HELP.", 'unknown'],
    ['ERR Unknown Redis command called from script script: abc, on @user_script:5.', 'unknown'],
    // Anything else is no refusal: the check fails with it.
    ['WRONGTYPE Operation against a key holding the wrong kind of value', undefined],
    ['OOM command not allowed when used memory > maxmemory.', undefined],
    ['Connection is closed.', undefined],
  ])('%s → %s', (message, kind) => {
    expect(classifyRefusal(message)).toBe(kind);
  });
});

describe('renderMissing', () => {
  const where = 'redis://127.0.0.1:6379';
  it('NOPERM only: the grants to add', () => {
    expect(renderMissing(where, [{ command: 'EVAL', refused: 'command' }, { command: 'EVALSHA', refused: 'command' }], 'resque')).toBe(
      'Redis at redis://127.0.0.1:6379 refuses what the workers need (NOPERM): commands EVAL, EVALSHA (grant +@scripting)',
    );
  });

  it('unknown commands only: which ones the workers need, INFO named as ioredis’s ready check', () => {
    expect(renderMissing(where, [{ command: 'INFO', refused: 'unknown' }, { command: 'LSET', refused: 'unknown' }], 'resque')).toBe(
      "Redis at redis://127.0.0.1:6379 does not know commands the workers need: INFO (ioredis's ready check), LSET (renamed or disabled with rename-command?)",
    );
  });

  it('both', () => {
    expect(renderMissing(where, [{ command: 'EVAL', refused: 'command' }, { command: 'LSET', refused: 'unknown' }], 'resque')).toBe(
      'Redis at redis://127.0.0.1:6379 refuses what the workers need (NOPERM): commands EVAL (grant +@scripting); ' +
        'and does not know commands the workers need: LSET (renamed or disabled with rename-command?)',
    );
  });
});
