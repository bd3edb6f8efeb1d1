import { afterEach, beforeEach } from 'vitest';
import type { Spawned } from './spawn.js';

// unicorn's check_stderr for our chains: every line a watched process printed (start-server
// relays its generations' and their workers' output, so one chain is one stream) is scanned
// for alarms, and a test fails on any alarm it did not declare. A false [error] teaches
// operators to ignore the log; a test that tolerates one hides the next real one.

/** What counts as an alarm: an error-level line (text or JSON, `"level":"error"`), a SIGKILL, an uncaught exception. */
export const ALARM = /\[error\]|\[fatal\]|"level":"(?:error|fatal)"|SIGKILL|Unhandled|TypeError|ReferenceError|uncaught/i;

/** An alarm the test causes on purpose, and why (the why is printed when the audit fails). */
export interface ExpectedAlarm {
  pattern: RegExp;
  why: string;
}

/** The alarm lines of `output` that no expectation matches. */
export function unexpectedAlarms(output: string, expected: readonly ExpectedAlarm[] = []): string[] {
  return output.split('\n').filter((line) => ALARM.test(line) && !expected.some((e) => e.pattern.test(line)));
}

/** Throws, listing the unexpected alarm lines (and the expectations, for the reader), if there are any. */
export function assertNoUnexpectedAlarms(sources: ReadonlyArray<{ label: string; output: string }>, expected: readonly ExpectedAlarm[] = []): void {
  const found = sources.flatMap((s) => unexpectedAlarms(s.output, expected).map((line) => `  ${s.label}: ${line}`));
  if (found.length === 0) return;
  const declared = expected.length ? expected.map((e) => `  ${e.pattern} (${e.why})`).join('\n') : '  none';
  throw new Error(`unexpected [error]/SIGKILL lines in the log:\n${found.join('\n')}\nexpected by the test:\n${declared}`);
}

/**
 * One test's audit: the processes it watches and the alarms it expects. `check()` stops the
 * watched processes that still run (TERM, as an operator would; their way out is audited
 * too) and throws on any unexpected alarm.
 */
export class LogAudit {
  private readonly procs: Spawned[] = [];
  private readonly expected: ExpectedAlarm[] = [];

  /** Watches `p`'s output (returns it, so `audit.watch(spawnNode(…))` reads as one step). */
  watch<T extends Spawned>(p: T): T {
    this.procs.push(p);
    return p;
  }

  /** Declares an alarm this test causes on purpose; keep the pattern as narrow as the scenario allows. */
  expect(pattern: RegExp, why: string): this {
    this.expected.push({ pattern, why });
    return this;
  }

  async check(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop()));
    assertNoUnexpectedAlarms(this.procs, this.expected);
  }
}

/**
 * Why: every test of a file audited without each test remembering to: a fresh LogAudit per test,
 * checked after it (unless the test already failed: its own error is the one to read).
 */
export function useLogAudit(): { readonly current: LogAudit } {
  let current = new LogAudit();
  beforeEach(() => {
    current = new LogAudit();
  });
  afterEach(async (ctx) => {
    const audit = current;
    if (ctx.task.result?.state === 'fail') return;
    await audit.check();
  });
  return {
    get current() {
      return current;
    },
  };
}
