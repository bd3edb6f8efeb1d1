import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ATOMIC_WRITE, createLogger, logLine } from '../src/logger.js';
import { formatJsonLine, formatTextLine, redactText, redactValue, type LineOptions, type LogRecord } from '../src/log-format.js';

const date = new Date('2026-12-03T06:51:07.123Z');
const rec = (over: Partial<LogRecord> = {}): LogRecord => ({ date, type: 'info', tag: 'worker[2]', args: ['hello'], ...over });
const opts = (over: Partial<LineOptions> = {}): LineOptions => ({ timestamps: true, context: undefined, secrets: [], pid: 4242, ...over });

describe('formatJsonLine', () => {
  it('time, level, pid, the context in order, msg, then the fields', () => {
    const line = formatJsonLine(
      rec({ fields: { class: 'Archive', queue: 'mail', durationMs: 1.5 } }),
      opts({ context: { role: 'worker', generation: 3, group: undefined, slot: 2, worker: 'h:1:mail' } }),
    );
    expect(line.endsWith('\n')).toBe(true);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(JSON.parse(line)).toEqual({
      time: '2026-12-03T06:51:07.123Z',
      level: 'info',
      pid: 4242,
      role: 'worker',
      generation: 3,
      slot: 2,
      worker: 'h:1:mail',
      msg: 'hello',
      class: 'Archive',
      queue: 'mail',
      durationMs: 1.5,
    });
    expect(Object.keys(JSON.parse(line) as object)).toEqual(['time', 'level', 'pid', 'role', 'generation', 'slot', 'worker', 'msg', 'class', 'queue', 'durationMs']);
  });

  it.each([
    ['info', 'info'],
    ['success', 'info'],
    ['ready', 'info'],
    ['log', 'info'],
    ['warn', 'warn'],
    ['error', 'error'],
    ['fail', 'error'],
    ['fatal', 'fatal'],
    ['debug', 'debug'],
    ['trace', 'trace'],
    ['verbose', 'trace'],
  ])('consola type %s is level %s', (type, level) => {
    expect((JSON.parse(formatJsonLine(rec({ type }), opts())) as { level: string }).level).toBe(level);
  });

  it('the tag is the role when the context has none; a field cannot replace time, level, pid or msg', () => {
    const o = JSON.parse(formatJsonLine(rec({ tag: 'start-server', fields: { time: 'x', level: 'x', pid: 1, msg: 'x', worker: 'w2' } }), opts({ context: { worker: 'w1' } }))) as Record<string, unknown>;
    expect(o).toEqual({ time: '2026-12-03T06:51:07.123Z', level: 'info', pid: 4242, role: 'start-server', worker: 'w2', msg: 'hello' });
  });

  it('a multi-line message (a stack) stays one line; objects and errors are formatted into msg', () => {
    const err = new Error('boom\nsecond line');
    const line = formatJsonLine(rec({ args: ['failed:', err, { a: 1 }] }), opts());
    expect(line.split('\n')).toHaveLength(2);
    const msg = (JSON.parse(line) as { msg: string }).msg;
    expect(msg).toMatch(/^failed: Error: boom\nsecond line\n {4}at /);
    expect(msg).toContain('{ a: 1 }');
  });

  it('quotes, backslashes, control characters, U+2028 and lone surrogates survive the round trip', () => {
    const text = 'say "hi" \\ tab\t bell\u0007 ls\u2028 lone\ud800 é';
    const o = JSON.parse(formatJsonLine(rec({ args: [text], fields: { [text]: text, n: Infinity } }), opts())) as Record<string, unknown>;
    expect(o.msg).toBe(text);
    expect(o[text]).toBe(text);
    expect(o.n).toBeNull();
  });

  it('a field JSON cannot hold still gives a line', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const o = JSON.parse(formatJsonLine(rec({ fields: { big: 10n, cyclic, when: date, err: new TypeError('bad') } }), opts())) as Record<string, unknown>;
    expect(o.big).toBe('10');
    expect(o.when).toBe('2026-12-03T06:51:07.123Z');
    expect(o.err).toEqual({ type: 'TypeError', message: 'bad' });
    expect(JSON.stringify(o.cyclic)).toContain('[…]');
  });
});

describe('formatTextLine', () => {
  it('is the text format as it always was; fields are not printed', () => {
    expect(formatTextLine(rec({ fields: { class: 'X' } }), opts())).toBe('2026-12-03T06:51:07.123Z [info] [worker[2]] hello\n');
    expect(formatTextLine(rec({ type: 'warn', tag: '' }), opts({ timestamps: false }))).toBe('[warn] hello\n');
  });
});

describe('redaction', () => {
  const PW = 'S3cr%t-pw';
  it.each([
    ['redis://:S3cret@10.0.0.1:6379/0', 'redis://:***@10.0.0.1:6379/0'],
    ['connect rediss://app:S3cret@host:6380 failed', 'connect rediss://app:***@host:6380 failed'],
    ['redis://S3cret@host:6379', 'redis://***@host:6379'],
    ['see https://alice@example.com/x', 'see https://alice@example.com/x'],
    ['redis://host:6379/?password=S3cret&db=1', 'redis://host:6379/?password=***&db=1'],
    ['mail bob@example.com', 'mail bob@example.com'],
  ])('redactText(%j) = %j', (input, output) => {
    expect(redactText(input, [])).toBe(output);
  });

  it('a known secret is masked wherever it appears', () => {
    expect(redactText(`auth ${PW} and again ${PW}.`, [PW])).toBe('auth *** and again ***.');
  });

  it('a secret with regex characters is found by the quick test, and a text without secrets is returned as is', () => {
    const odd = 'p.w(d)[x]*+?^$|\\';
    const secrets = [odd, PW];
    expect(redactText(`a ${odd} b`, secrets)).toBe('a *** b');
    expect(redactText('pXwXdX', secrets)).toBe('pXwXdX');
    const plain = 'job Noop on bench done in 0.012 ms';
    expect(redactText(plain, secrets)).toBe(plain);
  });

  it('keys that name secrets are masked in fields, however deep', () => {
    expect(redactValue({ redis: { host: 'h', password: 'x', sentinelPassword: 'y' }, token: 't', list: ['redis://:p@h'] }, [], '', 0)).toEqual({
      redis: { host: 'h', password: '***', sentinelPassword: '***' },
      token: '***',
      list: ['redis://:***@h'],
    });
  });

  it('neither format writes the password: message, args, fields, errors', () => {
    for (const format of ['text', 'json'] as const) {
      const stream = new PassThrough();
      let out = '';
      stream.on('data', (d: Buffer) => (out += d.toString()));
      const logger = createLogger({ tag: 't', format, stream, secrets: [PW], context: { role: 'worker' } });
      logger.info(`url redis://:${encodeURIComponent(PW)}@h:1 and ${PW}`);
      logger.warn('options', { host: 'h', password: PW });
      logger.error(new Error(`WRONGPASS ${PW}`));
      logger.info(logLine('with fields', { redis: { password: PW }, note: `pw=${PW}` }));
      expect(out).not.toContain(PW);
      expect(out).not.toContain(encodeURIComponent(PW));
      expect(out).not.toContain('S3cr');
      if (format === 'json') {
        const lines = out.trim().split('\n');
        expect(lines).toHaveLength(4);
        for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
      }
    }
  });
});

describe('createLogger coalesce', () => {
  const capture = () => {
    const stream = new PassThrough();
    const chunks: string[] = [];
    stream.on('data', (d: Buffer) => chunks.push(d.toString()));
    const msgs = () => chunks.join('').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { msg: string }).msg);
    return { stream, chunks, msgs };
  };
  const turn = async () => {
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
  };

  it('job lines (emit) wait for the end of the turn and go out in one write; any other line goes out at once, after them', async () => {
    const { stream, chunks, msgs } = capture();
    const logger = createLogger({ tag: 't', format: 'json', stream, coalesce: true });
    for (let i = 0; i < 3; i++) logger.emit('info', logLine(`job ${i}`, {}));
    await Promise.resolve();
    expect(chunks).toEqual([]);
    await turn();
    expect(chunks).toHaveLength(1);
    expect(msgs()).toEqual(['job 0', 'job 1', 'job 2']);
    chunks.length = 0;
    logger.emit('info', logLine('job 3', {}));
    logger.warn('not a job line');
    logger.emit('warn', logLine('job 4 failed', {}));
    expect(msgs()).toEqual(['job 3', 'not a job line']);
    logger.flush();
    expect(msgs()).toEqual(['job 3', 'not a job line', 'job 4 failed']);
    await turn();
    expect(chunks).toHaveLength(3);
  });

  it('with holdMs, job lines wait across turns, until holdMs after the first, and then go out in one write; any other line still flushes them first', async () => {
    const { stream, chunks, msgs } = capture();
    const holdMs = 1000;
    const logger = createLogger({ tag: 't', format: 'json', stream, coalesce: { holdMs } });
    const t0 = performance.now();
    logger.emit('info', logLine('job 0', {}));
    await turn();
    logger.emit('info', logLine('job 1', {}));
    await turn();
    expect(chunks).toEqual([]);
    const written = await new Promise<number>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error('held lines never written')), 5000);
      stream.once('data', () => {
        clearTimeout(deadline);
        resolve(performance.now() - t0);
      });
    });
    expect(written).toBeGreaterThanOrEqual(holdMs - 5);
    expect(chunks).toHaveLength(1);
    expect(msgs()).toEqual(['job 0', 'job 1']);
    logger.emit('info', logLine('job 2', {}));
    logger.warn('not a job line');
    expect(msgs()).toEqual(['job 0', 'job 1', 'job 2', 'not a job line']);
  });

  it('at most 4096 bytes a write, whole lines, in order (text beyond ASCII counted in bytes)', () => {
    const { stream, chunks, msgs } = capture();
    const logger = createLogger({ tag: 't', format: 'json', stream, coalesce: true });
    const text = (i: number) => `é${'x'.repeat(250)} ${i}`;
    for (let i = 0; i < 100; i++) logger.emit('info', logLine(text(i), {}));
    logger.flush();
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) {
      expect(Buffer.byteLength(c)).toBeLessThanOrEqual(4096);
      expect(c.endsWith('\n')).toBe(true);
    }
    expect(msgs()).toEqual(Array.from({ length: 100 }, (_, i) => text(i)));
  });

  it('a line longer than 4096 bytes goes alone, whole', () => {
    const { stream, chunks, msgs } = capture();
    const logger = createLogger({ tag: 't', format: 'json', stream, coalesce: true });
    const long = 'é'.repeat(3000);
    logger.emit('info', logLine('before', {}));
    logger.emit('info', logLine(long, {}));
    logger.emit('info', logLine('after', {}));
    logger.flush();
    expect(msgs()).toEqual(['before', long, 'after']);
    expect(chunks.map((c) => c.split('\n').length - 1)).toEqual([1, 1, 1]);
  });
});

describe('createLogger coalesce: writes on the stream\'s descriptor', () => {
  it('held-back lines go to the descriptor in one write(2), other lines through the stream, in order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-log-'));
    const file = join(dir, 'out.log');
    const fd = openSync(file, 'w');
    try {
      const viaStream: string[] = [];
      // What Node's stderr is for a file: a stream with its descriptor, written synchronously.
      const stream = { fd, writableLength: 0, write: (t: string) => (viaStream.push(t), writeSync(fd, t), true) };
      const logger = createLogger({ tag: 't', format: 'json', stream: stream as never, coalesce: true });
      logger.emit('info', logLine('job 1', {}));
      logger.emit('info', logLine('job 2 é', {}));
      logger.warn('not a job line');
      logger.emit('info', logLine('job 3', {}));
      logger.flush();
      const msgs = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { msg: string }).msg);
      expect(msgs).toEqual(['job 1', 'job 2 é', 'not a job line', 'job 3']);
      expect(viaStream.map((t) => (JSON.parse(t) as { msg: string }).msg)).toEqual(['not a job line']);
      // A stream with writes queued takes the lines itself (they must not overtake the queue).
      (stream as { writableLength: number }).writableLength = 10;
      logger.emit('info', logLine('job 4', {}));
      logger.flush();
      expect(viaStream.map((t) => t.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { msg: string }).msg)).flat()).toEqual(['not a job line', 'job 4']);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('to a regular file held-back lines go in writes of up to FILE_WRITE bytes; to a pipe, of up to ATOMIC_WRITE (counted by /proc/self/io)', async () => {
    const writes = () => Number(/^syscw: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
    const line = (i: number) => `job ${i} ${'x'.repeat(250)}`;
    const dir = mkdtempSync(join(tmpdir(), 'baton-log-'));
    const file = join(dir, 'out.log');
    const fd = openSync(file, 'w');
    const cat = spawn('cat', [], { stdio: ['pipe', 'pipe', 'ignore'] });
    try {
      const stream = { fd, writableLength: 0, write: (t: string) => (writeSync(fd, t), true) };
      const toFile = createLogger({ tag: 't', format: 'json', stream: stream as never, coalesce: true });
      const n = 40; // ~12 KB of lines
      const before = writes();
      for (let i = 0; i < n; i++) toFile.emit('info', logLine(line(i), {}));
      toFile.flush();
      expect(writes() - before).toBe(1);
      expect(readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(Array.from({ length: n }, (_, i) => line(i)));

      const out: Buffer[] = [];
      cat.stdout.on('data', (d: Buffer) => out.push(d));
      await once(cat, 'spawn');
      const stdin = cat.stdin as unknown as { fd?: number; _handle: { fd: number } };
      stdin.fd = stdin._handle.fd;
      const toPipe = createLogger({ tag: 't', format: 'json', stream: cat.stdin, coalesce: true });
      const beforePipe = writes();
      for (let i = 0; i < n; i++) toPipe.emit('info', logLine(line(i), {}));
      toPipe.flush();
      // Whole lines, as many as fit in ATOMIC_WRITE bytes, a write.
      let expected = 1;
      let used = 0;
      for (const l of readFileSync(file, 'utf8').split(/(?<=\n)/)) {
        if (used + Buffer.byteLength(l) > ATOMIC_WRITE) [expected, used] = [expected + 1, 0];
        used += Buffer.byteLength(l);
      }
      expect(expected).toBeGreaterThan(2);
      expect(writes() - beforePipe).toBe(expected);
      cat.stdin.end();
      await once(cat, 'close');
      expect(Buffer.concat(out).toString().split('\n').filter(Boolean)).toHaveLength(n);
    } finally {
      if (cat.exitCode === null && cat.signalCode === null) cat.kill('SIGKILL');
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a pipe whose reader is stopped: what the descriptor does not take (EAGAIN) is queued on the stream, and every line arrives once, in order', async () => {
    const cat = spawn('cat', [], { stdio: ['pipe', 'pipe', 'ignore'] });
    try {
      const out: Buffer[] = [];
      cat.stdout.on('data', (d: Buffer) => out.push(d));
      await once(cat, 'spawn');
      const stdin = cat.stdin as unknown as { fd?: number; _handle: { fd: number } };
      stdin.fd = stdin._handle.fd;
      // Stopped, cat reads nothing: the pipe (64 KiB) fills and write(2) answers EAGAIN.
      cat.kill('SIGSTOP');
      const logger = createLogger({ tag: 't', format: 'json', stream: cat.stdin, coalesce: true });
      const n = 2000;
      for (let i = 0; i < n; i++) {
        logger.emit('info', logLine(`job ${i} ${'x'.repeat(100)}`, {}));
        if (i % 10 === 9) logger.flush();
      }
      logger.flush();
      expect(cat.stdin.writableLength).toBeGreaterThan(0);
      cat.kill('SIGCONT');
      cat.stdin.end();
      await once(cat, 'close');
      const msgs = Buffer.concat(out).toString().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { msg: string }).msg);
      expect(msgs).toEqual(Array.from({ length: n }, (_, i) => `job ${i} ${'x'.repeat(100)}`));
    } finally {
      if (cat.exitCode === null && cat.signalCode === null) {
        cat.kill('SIGCONT');
        cat.kill('SIGKILL');
      }
    }
  });
});

describe('prepared lines', () => {
  it('members made with logger.member are written after msg, masked; `own` keys leave the context', () => {
    const stream = new PassThrough();
    let out = '';
    stream.on('data', (d: Buffer) => (out += d.toString()));
    const context: Record<string, string | number | undefined> = { role: 'worker', slot: 1, worker: 'w-ctx' };
    const logger = createLogger({ tag: 'worker[1]', format: 'json', stream, timestamps: false, level: 'info', context, secrets: ['pw-1'] });
    const members = logger.member('class', 'A"pw-1') + logger.member('n', 2) + logger.member('password', 'x') + logger.member('worker', 'w-job');
    logger.emit('info', { message: 'done pw-1', members, own: ['worker'] });
    // The context may change between lines: the next line says so.
    context.generation = 4;
    logger.emit('info', { message: 'next', members: '' });
    const [a, b] = out.trim().split('\n');
    expect(a).toBe(`{"time":${JSON.stringify((JSON.parse(a!) as { time: string }).time)},"level":"info","pid":${process.pid},"role":"worker","slot":1,"msg":"done ***","class":"A\\"***","n":2,"password":"***","worker":"w-job"}`);
    expect(JSON.parse(b!)).toMatchObject({ role: 'worker', slot: 1, worker: 'w-ctx', generation: 4, msg: 'next' });
  });
});

describe('logger.emit', () => {
  it('writes a line with fields as info/warn would, and honours the level', () => {
    for (const format of ['json', 'text'] as const) {
      const stream = new PassThrough();
      let out = '';
      stream.on('data', (d: Buffer) => (out += d.toString()));
      const logger = createLogger({ tag: 'worker[1]', format, stream, timestamps: false, level: 'info', context: { role: 'worker', slot: 1 }, secrets: ['pw-1'] });
      logger.emit('debug', logLine('hidden', { a: 1 }));
      logger.emit('warn', logLine('job X failed: pw-1', { class: 'X', n: 2 }, '[X 1234]'));
      if (format === 'text') expect(out).toBe('[warn] [worker[1]] [X 1234] job X failed: ***\n');
      else expect(JSON.parse(out)).toEqual({ time: expect.any(String), level: 'warn', pid: process.pid, role: 'worker', slot: 1, msg: 'job X failed: ***', class: 'X', n: 2 });
    }
  });
});
