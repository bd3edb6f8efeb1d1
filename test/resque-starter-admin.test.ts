// `resque-starter failed …` and `resque-starter queues` (issue 14): Resque's failed list and
// queues read and changed through the real binary, against a private redis-server, with failures
// made by a real worker and records written as Ruby's Failure::Redis writes them.
import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { spawnNode } from './helpers/spawn.js';
import { slow } from './helpers/slowness.js';
import { pollUntil } from './helpers/wait.js';
import { doneIds, RS_BIN, RsEnv, rsSuite } from './fixtures/rs-harness.js';

const suite = rsSuite();

async function cli(e: RsEnv, args: string[]): Promise<{ code: number | null; output: string }> {
  const p = spawnNode(RS_BIN, [...args, '-c', e.conf], { label: `resque-starter ${args.join(' ')}`, env: e.env() });
  const { code } = await p.waitForExit({ timeoutMs: slow(20_000) });
  return { code, output: p.output };
}

/** A failure record as Ruby Resque's Failure::Redis writes it. */
function rubyFailure(queue: string, cls: string, args: unknown[], error = 'boom'): string {
  return JSON.stringify({
    failed_at: '2026/12/03 03:00:00 UTC',
    payload: { class: cls, args },
    exception: 'RuntimeError',
    error,
    backtrace: [`/app/jobs/${cls.toLowerCase()}.rb:3:in 'perform'`],
    worker: 'ruby-host:4242:*',
    queue,
  });
}

const FLAKY = `
    /** Fails until \`<ns>:rs:fixed\` is set, then records its id. */
    async Flaky(id: string) {
      if (!(await rec().get(NS + ':rs:fixed'))) throw new Error('not fixed yet: ' + id);
      await rec().rpush(NS + ':rs:done', id + ':' + process.pid);
    },`;

describe('resque-starter failed', () => {
  it('lists, shows, retries (one, then all), removes and clears what a real worker failed', async () => {
    const e = suite.setup({ concurrency: 1, jobs: FLAKY });
    const r = suite.redis.client();
    const m = e.master();
    for (const id of ['f0', 'f1', 'f2']) await r.rpush(`${e.ns}:queue:rs`, JSON.stringify({ class: 'Flaky', args: [id] }));
    await r.sadd(`${e.ns}:queues`, 'rs');
    await pollUntil(async () => (await r.llen(`${e.ns}:failed`)) === 3, { what: '3 failed jobs', timeoutMs: slow(20_000) });

    const list = await cli(e, ['failed', 'list']);
    expect(list.code).toBe(0);
    const lines = list.output.trim().split('\n');
    expect(lines[0]).toBe('3 failed job(s)');
    expect(lines[1]).toMatch(/^#\s+failed at\s+queue\s+class\s+error$/);
    for (const [i, id] of ['f0', 'f1', 'f2'].entries()) expect(lines[i + 2]).toMatch(new RegExp(`^${i}\\s+\\d{4}/\\d\\d/\\d\\d [\\d:]+ UTC\\s+rs\\s+Flaky\\s+Error: not fixed yet: ${id}$`));

    const show = await cli(e, ['failed', 'show', '1']);
    expect(show.code).toBe(0);
    expect(show.output).toContain('failed job 1\n  class:      Flaky\n  args:       ["f1"]\n  queue:      rs\n');
    expect(show.output).toContain('  exception:  Error\n  error:      not fixed yet: f1\n  backtrace:\n    ');

    // Fixed: retry one, then all; `retry all` skips the one already retried.
    await r.set(`${e.ns}:rs:fixed`, '1');
    const one = await cli(e, ['failed', 'retry', '1']);
    expect(one).toEqual({ code: 0, output: 'retried failed job 1 (Flaky from rs): enqueued again on rs; the entry stays, marked retried\n' });
    await pollUntil(async () => (await doneIds(r, e.ns)).includes('f1'), { what: 'f1 retried and done' });
    const json = JSON.parse((await cli(e, ['failed', 'list', '--json'])).output) as Array<{ index: number; retried_at?: string }>;
    expect(json.map((x) => [x.index, typeof x.retried_at])).toEqual([[0, 'undefined'], [1, 'string'], [2, 'undefined']]);
    expect((await cli(e, ['failed', 'list'])).output).toMatch(/\n1 .*retried \d{4}\/\d\d\/\d\d [\d:]+ UTC\n/);

    const all = await cli(e, ['failed', 'retry', 'all']);
    expect(all).toEqual({ code: 0, output: 'retried 2 failed job(s); 1 already retried, not enqueued again (`failed retry N` does)\n' });
    await pollUntil(async () => (await doneIds(r, e.ns)).length === 3, { what: 'all three done' });
    expect((await doneIds(r, e.ns)).sort()).toEqual(['f0', 'f1', 'f2']);
    expect((await cli(e, ['failed', 'retry', 'all'])).output).toBe('retried 0 failed job(s); 3 already retried, not enqueued again (`failed retry N` does)\n');

    // Entries stay (as resque-web's Retry leaves them) until removed.
    expect(await cli(e, ['failed', 'remove', '0'])).toEqual({ code: 0, output: 'removed failed job 0 (Flaky from rs)\n' });
    expect(await r.llen(`${e.ns}:failed`)).toBe(2);
    expect(await cli(e, ['failed', 'clear'])).toEqual({ code: 0, output: 'removed 2 failed job(s)\n' });
    expect(await cli(e, ['failed'])).toEqual({ code: 0, output: 'no failed jobs\n' });
    m.kill('SIGQUIT');
    expect((await m.waitForExit({ timeoutMs: slow(15_000) })).code).toBe(0);
  });

  it('a bad index or an empty list is one line and exit 1; a bad action is a usage error (exit 2)', async () => {
    const e = suite.setup();
    const r = suite.redis.client();
    expect(await cli(e, ['failed', 'show', '0'])).toEqual({ code: 1, output: 'resque-starter: no failed job 0: the failed list is empty\n' });
    await r.rpush(`${e.ns}:failed`, rubyFailure('a', 'A', [1]), rubyFailure('a', 'A', [2]));
    expect(await cli(e, ['failed', 'retry', '2'])).toEqual({
      code: 1,
      output: 'resque-starter: no failed job 2: the failed list has 2 entries (0–1); `resque-starter failed list` shows them\n',
    });
    expect(await cli(e, ['failed', 'remove', '7'])).toMatchObject({ code: 1 });
    expect(await r.llen(`${e.ns}:failed`)).toBe(2);
    const bad = await cli(e, ['failed', 'retyr', '0']);
    expect(bad.code).toBe(2);
    expect(bad.output).toBe('resque-starter: Unknown `failed` action `retyr`; did you mean `retry`?\nTry `resque-starter failed --help`.\n');
  });

  it('--queue and --class choose what list, retry all and clear touch; Ruby-written records read and retry as ours', async () => {
    const e = suite.setup();
    const r = suite.redis.client();
    await r.rpush(
      `${e.ns}:failed`,
      rubyFailure('mail', 'Mailer', ['a@x']),
      rubyFailure('low', 'Archive', [1]),
      rubyFailure('mail', 'Archive', [2]),
      rubyFailure('mail', 'Mailer', ['b@x']),
      'not json at all',
    );
    const mail = JSON.parse((await cli(e, ['failed', 'list', '--queue', 'mail', '--json'])).output) as Array<{ index: number; payload: { class: string } }>;
    expect(mail.map((x) => [x.index, x.payload.class])).toEqual([[0, 'Mailer'], [2, 'Archive'], [3, 'Mailer']]);
    const text = (await cli(e, ['failed', 'list', '--class', 'Archive', '--limit', '1'])).output;
    expect(text.split('\n')[0]).toBe('2 of 5 failed job(s) match; the first 1 shown (--limit 0 for all)');
    expect((await cli(e, ['failed', 'list'])).output).toMatch(/\n4\s+-\s+-\s+-\s+not a failure record\n/);

    // retry all --queue mail --class Mailer: two jobs back on `mail`, in failure order, as Resque enqueues them.
    expect((await cli(e, ['failed', 'retry', 'all', '--queue', 'mail', '--class', 'Mailer'])).output).toBe('retried 2 failed job(s)\n');
    expect(await r.lrange(`${e.ns}:queue:mail`, 0, -1)).toEqual(['{"class":"Mailer","args":["a@x"]}', '{"class":"Mailer","args":["b@x"]}']);
    expect(await r.smembers(`${e.ns}:queues`)).toContain('mail');

    // clear --class Archive removes exactly those two; the rest keep their order.
    expect((await cli(e, ['failed', 'clear', '--class', 'Archive'])).output).toBe('removed 2 failed job(s)\n');
    const left = await r.lrange(`${e.ns}:failed`, 0, -1);
    expect(left.map((x) => (x.startsWith('{') ? (JSON.parse(x) as { payload: { args: unknown[] } }).payload.args[0] : x))).toEqual(['a@x', 'b@x', 'not json at all']);
    // The unparseable entry can be shown and removed, not retried.
    expect((await cli(e, ['failed', 'retry', '2'])).output).toBe('resque-starter: failed job 2 is not a Resque failure record with a job to retry; `failed remove 2` removes it\n');
    expect((await cli(e, ['failed', 'remove', '2'])).output).toBe('removed failed job 2 (no class)\n');
  });

  it('Redis not answering within redisTimeout: one line naming it, exit 1', async () => {
    const e = suite.setup({ extra: 'redisTimeout: 0.5,' }, { url: 'redis://127.0.0.1:1' });
    const res = await cli(e, ['failed', 'list']);
    expect(res).toEqual({ code: 1, output: `resque-starter: Redis at redis://127.0.0.1:1 did not answer within 0.5 s (\`redisTimeout\` in ${e.conf})\n` });
  });
});

describe('resque-starter failed and queues with groups', () => {
  it('groups on two namespaces: queues shows each, failed needs --group (an unknown one gets a did-you-mean)', async () => {
    const e = suite.setup({ extra: `groups: { web: { queues: ['web'] }, mail: { queues: ['mail'], namespace: NS + '-mail' } },` });
    const r = suite.redis.client();
    await r.sadd(`${e.ns}:queues`, 'web');
    await r.rpush(`${e.ns}:queue:web`, JSON.stringify({ class: 'A', args: [] }));
    await r.sadd(`${e.ns}-mail:queues`, 'mail');
    await r.rpush(`${e.ns}-mail:queue:mail`, JSON.stringify({ class: 'M', args: [] }), JSON.stringify({ class: 'M', args: [] }));
    await r.rpush(`${e.ns}-mail:failed`, rubyFailure('mail', 'Mailer', ['a@x']));
    const url = suite.redis.url;
    const text = await cli(e, ['queues']);
    expect(text).toEqual({
      code: 0,
      output: `${url}/${e.ns} (groups web):\nqueue  jobs  oldest  delayed\nweb    1     -       0\nfailed: 0\n${url}/${e.ns}-mail (groups mail):\nqueue  jobs  oldest  delayed\nmail   2     -       0\nfailed: 1\n`,
    });
    const refused = await cli(e, ['failed']);
    expect(refused.code).toBe(2);
    expect(refused.output).toContain(`use 2 Redis servers or namespaces (${url}/${e.ns}: web; ${url}/${e.ns}-mail: mail); choose one with \`--group NAME\``);
    expect((await cli(e, ['failed', '--group', 'mail'])).output).toMatch(/^1 failed job\(s\)\n.*\n0 .* mail +Mailer +RuntimeError: boom\n$/);
    expect((await cli(e, ['queues', '--group', 'mial'])).output).toMatch(/^resque-starter: Unknown group `mial` in .*conf\.ts; did you mean `mail`\?\n/);
  });
});

describe('resque-starter queues', () => {
  it('each queue: depth and the age of its oldest job (from enqueued_at), then the failed count', async () => {
    const e = suite.setup();
    const r: Redis = suite.redis.client();
    const enqueuedAt = Date.now() / 1000 - 90;
    await r.sadd(`${e.ns}:queues`, 'mail', 'low', 'empty');
    await r.rpush(`${e.ns}:queue:mail`, JSON.stringify({ class: 'Mailer', args: [], enqueued_at: enqueuedAt }), JSON.stringify({ class: 'Mailer', args: [] }));
    await r.rpush(`${e.ns}:queue:low`, JSON.stringify({ class: 'Archive', args: [] }));
    await r.rpush(`${e.ns}:failed`, rubyFailure('low', 'Archive', [1]));
    // Delayed jobs, as resque-scheduler (Ruby) lays them out: one for mail, two for a queue with nothing waiting yet.
    const later = Math.floor(Date.now() / 1000) + 3600;
    const delayed = (queue: string, n: number) => JSON.stringify({ class: 'Later', args: [n], queue });
    await r.zadd(`${e.ns}:delayed_queue_schedule`, later, later);
    await r.rpush(`${e.ns}:delayed:${later}`, delayed('mail', 1), delayed('soon', 2), delayed('soon', 3));
    const text = await cli(e, ['queues']);
    expect(text.code).toBe(0);
    expect(text.output).toMatch(/^queue +jobs +oldest +delayed\nempty +0 +- +0\nlow +1 +- +0\nmail +2 +1m (29|3\d)s +1\nsoon +0 +- +2\nfailed: 1\n$/);
    const json = JSON.parse((await cli(e, ['queues', '--json'])).output) as { queues: Array<{ name: string; depth: number; delayed: number; oldestAgeSeconds: number | null }>; failed: number };
    expect(json.failed).toBe(1);
    expect(json.queues.map((q) => [q.name, q.depth, q.delayed])).toEqual([['empty', 0, 0], ['low', 1, 0], ['mail', 2, 1], ['soon', 0, 2]]);
    expect(json.queues[2]!.oldestAgeSeconds).toBeGreaterThanOrEqual(89);
    expect(json.queues[1]!.oldestAgeSeconds).toBeNull();
  });
});
