import { describe, expect, it } from 'vitest';
import { resolveIds } from '../src/users.js';

// Issue 10 item 17: `group` without `user` must not leave the workers as root silently.
describe('resolveIds', () => {
  it.each([
    [{ user: undefined, group: undefined, uid: 0 }, undefined, []],
    [{ user: 0, group: undefined, uid: 0 }, { uid: 0, gid: 0 }, []],
    [{ user: 65534, group: 65534, uid: 0 }, { uid: 65534, gid: 65534 }, []],
    [{ user: undefined, group: 65534, uid: 0 }, { gid: 65534 }, ['`group` without `user`: the workers run as group `65534` but still as root (uid 0); set `user` to drop root']],
    [{ user: 65534, group: undefined, uid: 1000 }, undefined, ['`user`/`group` ignored: the master is not running as root']],
  ])('%o → %o, warnings %j', ({ user, group, uid }, ids, warnings) => {
    const warned: string[] = [];
    expect(resolveIds(user, group, (m) => warned.push(m), uid)).toEqual(ids);
    expect(warned).toEqual(warnings);
  });
});
