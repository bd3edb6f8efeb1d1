import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { ignoreOutputErrors, writeQuietly } from '../src/output.js';

/** A stream whose every write fails the way a pipe without a reader does. */
const brokenPipe = () =>
  new Writable({
    write(_chunk, _enc, cb) {
      cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    },
  });

describe('ignoreOutputErrors (item 11)', () => {
  it('keeps an EPIPE on a guarded stream from becoming an uncaught error, and reports the first one once', async () => {
    const s = brokenPipe();
    const seen: string[] = [];
    ignoreOutputErrors([s], (err) => seen.push(String(err.code)));
    ignoreOutputErrors([s], () => seen.push('second guard'));
    expect(s.listenerCount('error')).toBe(1);
    s.write('a\n');
    await new Promise((r) => setImmediate(r));
    writeQuietly(s, 'b\n'); // destroyed by now: dropped, no throw
    expect(seen).toEqual(['EPIPE']);
  });

  it('createLogger guards its stream: logging into a broken pipe drops lines and does not throw', async () => {
    const s = brokenPipe();
    const logger = createLogger({ tag: 't', stream: s });
    logger.info('one');
    await new Promise((r) => setImmediate(r));
    logger.info('two');
    expect(s.listenerCount('error')).toBe(1);
  });

  it('accepts plain write-only objects (nothing to guard) and still logs into them', () => {
    const lines: string[] = [];
    const sink = { write: (t: string) => lines.push(t) } as unknown as NodeJS.WritableStream;
    createLogger({ tag: 't', stream: sink, timestamps: false }).info('hello');
    expect(lines).toEqual(['[info] [t] hello\n']);
    const p = new PassThrough();
    ignoreOutputErrors([p]);
    expect(p.listenerCount('error')).toBe(1);
  });
});
