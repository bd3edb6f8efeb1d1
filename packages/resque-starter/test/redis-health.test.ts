import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { RedisHealth } from '../src/master/redis-health.js';
import { watchRedisLink } from '../src/master/redis-link.js';

function recorder() {
  const lines: string[] = [];
  const logger = {
    warn: (m: string) => lines.push(`warn ${m}`),
    info: (m: string) => lines.push(`info ${m}`),
    debug: (m: string) => lines.push(`debug ${m}`),
  };
  let t = 1000;
  return { lines, logger, now: () => t, advance: (ms: number) => (t += ms) };
}

describe('RedisHealth: once per condition, for all workers', () => {
  it('one warning when the first worker hits it, one line with the duration when the last is out of it', () => {
    const r = recorder();
    const h = new RedisHealth(r.logger, r.now);
    const nore = 'NOREPLICAS Not enough good replicas to write.';
    h.report({ slot: 0, pid: 100 }, { state: 'down', condition: 'write-refused', message: nore });
    r.advance(500);
    h.report({ slot: 1, pid: 101 }, { state: 'down', condition: 'write-refused', message: nore });
    h.report({ slot: 1, pid: 101 }, { state: 'down', condition: 'write-refused', message: nore });
    h.report({ slot: 0, pid: 100 }, { state: 'up', condition: 'write-refused', message: nore, ms: 600 });
    expect(h.conditions).toEqual(['write-refused']);
    r.advance(11_800);
    h.report({ slot: 1, pid: 101 }, { state: 'up', condition: 'write-refused', message: nore, ms: 12_000 });
    expect(r.lines).toEqual([
      `warn worker[0] 100 cannot write to Redis: ${nore}; logged once until it clears`,
      'info the workers and the master can write to Redis again after 12.3s',
    ]);
    expect(h.conditions).toEqual([]);
  });

  it('keeps conditions apart; an `up` with nothing open says nothing', () => {
    const r = recorder();
    const h = new RedisHealth(r.logger, r.now);
    h.report({ slot: 0, pid: 100 }, { state: 'up', condition: 'connection', message: 'x' });
    h.report({ slot: 0, pid: 100 }, { state: 'down', condition: 'connection', message: 'connect ECONNREFUSED 127.0.0.1:7101' });
    h.report({ slot: 2, pid: 102 }, { state: 'down', condition: 'busy', message: 'BUSY Redis is busy running a script.' });
    h.report({ slot: 0, pid: 100 }, { state: 'up', condition: 'connection', message: 'x' });
    h.report({ slot: 2, pid: 102 }, { state: 'down', condition: 'mystery' as never, message: 'ERR what' });
    expect(r.lines).toEqual([
      'warn worker[0] 100 lost its connection to Redis: connect ECONNREFUSED 127.0.0.1:7101; logged once until it clears',
      'warn worker[2] 102 keeps finding jobs it does not know of (busy): BUSY Redis is busy running a script.; logged once until it clears',
      'info the workers are connected to Redis again after 0s',
      'warn worker[2] 102 reports Redis trouble (mystery): ERR what; logged once until it clears',
    ]);
  });

  it("the master's own writes: a refusal opens write-refused, a landed write closes it; connection errors are not counted", () => {
    const r = recorder();
    const h = new RedisHealth(r.logger, r.now);
    h.masterWrite(new Error('Connection is closed.'));
    h.masterWrite(undefined);
    h.masterWrite(new Error('NOREPLICAS Not enough good replicas to write. script: 6d505f90467e255adf0e56f36c2d51f314bae4a3, on @user_script:124.'));
    h.report({ slot: 0, pid: 100 }, { state: 'down', condition: 'write-refused', message: 'NOREPLICAS Not enough good replicas to write.' });
    h.masterWrite(new Error('NOREPLICAS again'));
    r.advance(3300);
    h.masterWrite(undefined);
    expect(h.conditions).toEqual(['write-refused']);
    h.report({ slot: 0, pid: 100 }, { state: 'up', condition: 'write-refused', message: '' });
    expect(r.lines).toEqual([
      'warn the master cannot write to Redis: NOREPLICAS Not enough good replicas to write.; logged once until it clears',
      'info the workers and the master can write to Redis again after 3.3s',
    ]);
  });

  it('with several Redis servers, conditions are kept and named per Redis', () => {
    const r = recorder();
    const h = new RedisHealth(r.logger, r.now, true);
    h.report({ slot: 0, pid: 100 }, { state: 'down', condition: 'write-refused', message: 'READONLY' }, 'redis://a:6379');
    h.report({ slot: 1, pid: 101 }, { state: 'down', condition: 'write-refused', message: 'NOREPLICAS' }, 'redis://b:6379');
    h.masterWrite(undefined, 'redis://b:6379');
    r.advance(1500);
    h.report({ slot: 1, pid: 101 }, { state: 'up', condition: 'write-refused', message: '' }, 'redis://b:6379');
    expect(h.conditions).toEqual(['write-refused redis://a:6379']);
    expect(r.lines).toEqual([
      'warn worker[0] 100 cannot write to Redis (redis://a:6379): READONLY; logged once until it clears',
      'warn worker[1] 101 cannot write to Redis (redis://b:6379): NOREPLICAS; logged once until it clears',
      'info the workers and the master can write to Redis again (redis://b:6379) after 1.5s',
    ]);
  });

  it('a worker that exits leaves its conditions (quietly: it proves nothing about Redis)', () => {
    const r = recorder();
    const h = new RedisHealth(r.logger, r.now);
    h.report({ slot: 0, pid: 100 }, { state: 'down', condition: 'write-refused', message: 'READONLY' });
    h.report({ slot: 1, pid: 101 }, { state: 'down', condition: 'write-refused', message: 'READONLY' });
    h.workerGone(100);
    expect(h.conditions).toEqual(['write-refused']);
    r.advance(2000);
    h.workerGone(101);
    expect(h.conditions).toEqual([]);
    expect(r.lines.slice(1)).toEqual(['debug Redis trouble (write-refused): the workers that reported it are gone (2s)']);
  });
});

describe('watchRedisLink: the master\'s own connection', () => {
  class FakeClient extends EventEmitter {
    stream: { remoteAddress?: string; remotePort?: number } | undefined = { remoteAddress: '127.0.0.1', remotePort: 7101 };
    disconnected = false;
    disconnect() {
      this.disconnected = true;
      this.emit('close');
    }
  }

  it('says once that Redis is gone and once that it is back, naming a failover when the node changed', () => {
    const r = recorder();
    const client = new FakeClient();
    const stop = watchRedisLink({ client, where: 'sentinel mymaster via 127.0.0.1:26379', logger: r.logger, now: r.now });
    client.emit('ready');
    client.emit('error', new Error('read ECONNRESET'));
    client.emit('close');
    // Failed attempts while it is down: nothing more.
    client.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:7101'));
    client.emit('close');
    r.advance(2300);
    client.stream = { remoteAddress: '127.0.0.1', remotePort: 7102 };
    client.emit('ready');
    client.emit('close');
    r.advance(400);
    client.emit('ready');
    stop();
    expect(client.disconnected).toBe(true);
    expect(r.lines).toEqual([
      'warn lost the connection to Redis (sentinel mymaster via 127.0.0.1:26379): read ECONNRESET; reconnecting, logged once until it is back',
      'info Redis failover: the primary is now 127.0.0.1:7102 (was 127.0.0.1:7101); the master was without Redis for 2.3s',
      'warn lost the connection to Redis (sentinel mymaster via 127.0.0.1:26379): connection closed; reconnecting, logged once until it is back',
      'info reconnected to Redis (127.0.0.1:7102) after 0.4s',
    ]);
  });
});

describe('RedisHealth in the status file: who is in which condition now', () => {
  const at = (ms: number) => new Date(ms).toISOString();

  it('per worker and for the master: down with each condition and since when, up again once it ends; every change is told', () => {
    const r = recorder();
    const h = new RedisHealth(r.logger, r.now);
    let changes = 0;
    h.onChange(() => void changes++);
    expect(h.masterStatus()).toEqual({ state: 'up', since: null, conditions: [] });
    h.report({ slot: 0, pid: 100 }, { state: 'down', condition: 'connection', message: 'connect ECONNREFUSED 127.0.0.1:7101' });
    r.advance(200);
    h.report({ slot: 1, pid: 101 }, { state: 'down', condition: 'connection', message: 'read ECONNRESET' });
    h.report({ slot: 1, pid: 101 }, { state: 'down', condition: 'connection', message: 'read ECONNRESET' }); // again: no change
    r.advance(300);
    h.report({ slot: 1, pid: 101 }, { state: 'down', condition: 'write-refused', message: 'NOREPLICAS Not enough good replicas to write. script: 6d505f90467e255adf0e56f36c2d51f314bae4a3, on @user_script:124.' });
    h.link('redis://127.0.0.1:7101', { message: 'read ECONNRESET' });
    h.link('redis://127.0.0.1:7101', { message: 'connect ECONNREFUSED' }); // still down: no change
    expect(changes).toBe(4);
    expect(h.workerStatus(100)).toEqual({ state: 'down', since: at(1000), conditions: [{ condition: 'connection', message: 'connect ECONNREFUSED 127.0.0.1:7101', since: at(1000) }] });
    expect(h.workerStatus(101)).toEqual({
      state: 'down',
      since: at(1200),
      conditions: [
        { condition: 'connection', message: 'read ECONNRESET', since: at(1200) },
        { condition: 'write-refused', message: 'NOREPLICAS Not enough good replicas to write.', since: at(1500) },
      ],
    });
    expect(h.workerStatus(102)).toEqual({ state: 'up', since: null, conditions: [] });
    expect(h.masterStatus()).toEqual({
      state: 'down',
      since: at(1000),
      conditions: [
        // The first reporter's message stands for the condition.
        { condition: 'connection', message: 'connect ECONNREFUSED 127.0.0.1:7101', since: at(1000), workers: 2, master: false },
        { condition: 'write-refused', message: 'NOREPLICAS Not enough good replicas to write.', since: at(1500), workers: 1, master: false },
        { condition: 'connection', message: 'read ECONNRESET', since: at(1500), workers: 0, master: true },
      ],
    });

    h.report({ slot: 0, pid: 100 }, { state: 'up', condition: 'connection', message: '' });
    h.workerGone(101);
    h.link('redis://127.0.0.1:7101', undefined);
    expect(changes).toBe(7);
    expect(h.workerStatus(100)).toEqual({ state: 'up', since: null, conditions: [] });
    expect(h.masterStatus()).toEqual({ state: 'up', since: null, conditions: [] });
  });

  it('with several Redis servers, each condition names its Redis', () => {
    const r = recorder();
    const h = new RedisHealth(r.logger, r.now, true);
    h.report({ slot: 0, pid: 100 }, { state: 'down', condition: 'write-refused', message: 'READONLY' }, 'redis://a:6379');
    h.masterWrite(new Error('READONLY'), 'redis://a:6379');
    expect(h.workerStatus(100).conditions).toEqual([{ condition: 'write-refused', message: 'READONLY', since: at(1000), redis: 'redis://a:6379' }]);
    expect(h.masterStatus().conditions).toEqual([{ condition: 'write-refused', message: 'READONLY', since: at(1000), redis: 'redis://a:6379', workers: 1, master: true }]);
  });
});
