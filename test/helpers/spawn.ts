import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { currentTestMark, MARK_VAR } from './procs.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Paths of the built binaries the integration suite runs. */
export const BIN = {
  startServer: `${ROOT}packages/server-starter/bin/start-server.js`,
  resqueStarter: `${ROOT}packages/resque-starter/dist/cli.js`,
} as const;

export interface SpawnedOptions extends Omit<SpawnOptions, 'stdio'> {
  /** Extra env on top of process.env (and the test mark). */
  env?: NodeJS.ProcessEnv;
  /** Extra stdio entries after 0,1,2 (e.g. 'ipc'). */
  extraStdio?: Array<'ipc' | 'pipe' | 'ignore' | number>;
  /** Label used when the output is dumped after a failure. */
  label?: string;
  /** Stop it after each test (default true); false for suite-wide infrastructure. */
  track?: boolean;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A process started by a test: captured output, line waits with deadlines, and clean stop. */
export class Spawned extends EventEmitter {
  readonly child: ChildProcess;
  readonly label: string;
  output = '';
  exit: ExitInfo | undefined;
  private readonly exited: Promise<ExitInfo>;

  constructor(cmd: string, args: string[], options: SpawnedOptions = {}) {
    super();
    const { env, extraStdio = [], label, track = true, ...rest } = options;
    this.label = label ?? [cmd, ...args].join(' ').slice(0, 120);
    this.child = spawn(cmd, args, {
      ...rest,
      env: {
        ...process.env,
        NO_COLOR: '1',
        BATON_LOG_LEVEL: process.env.BATON_LOG_LEVEL ?? 'debug',
        [MARK_VAR]: currentTestMark(),
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe', ...extraStdio],
    });
    const onData = (chunk: Buffer) => {
      this.output += chunk.toString('utf8');
      this.emit('output');
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        this.emit('output');
        resolve(this.exit);
      });
    });
    if (track) tracked.add(this);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Waits until the output (from `from` on) matches; returns the match. */
  async waitForLine(re: RegExp, { timeoutMs = 10_000, from = 0 } = {}): Promise<RegExpMatchArray> {
    const check = () => this.output.slice(from).match(re);
    const hit = check();
    if (hit) return hit;
    return await new Promise((resolve, reject) => {
      const onOutput = () => {
        const m = check();
        if (m) {
          cleanup();
          resolve(m);
        } else if (this.exit) {
          cleanup();
          reject(new Error(`${this.label} exited (${JSON.stringify(this.exit)}) before printing ${re}\n--- output ---\n${this.output}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${re} from ${this.label}\n--- output ---\n${this.output}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('output', onOutput);
      };
      this.on('output', onOutput);
      onOutput();
    });
  }

  /** Number of times a pattern occurs in the output so far. */
  count(re: RegExp): number {
    return [...this.output.matchAll(new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`))].length;
  }

  async waitForExit({ timeoutMs = 10_000 } = {}): Promise<ExitInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${this.label} to exit\n--- output ---\n${this.output}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(sig: NodeJS.Signals = 'SIGTERM'): void {
    if (!this.exit) this.child.kill(sig);
  }

  /** TERM, then KILL after `graceMs`; resolves once the process has exited. */
  async stop(graceMs = 8000): Promise<ExitInfo> {
    if (this.exit) return this.exit;
    this.kill('SIGTERM');
    try {
      return await this.waitForExit({ timeoutMs: graceMs });
    } catch {
      this.kill('SIGKILL');
      return await this.waitForExit({ timeoutMs: 5000 });
    }
  }
}

const tracked = new Set<Spawned>();

/** Starts a process tracked by the suite; it is stopped after the test if still running. */
export function spawnTracked(cmd: string, args: string[], options?: SpawnedOptions): Spawned {
  return new Spawned(cmd, args, options);
}

/** Runs a Node script (our built CLIs, fixtures) with the current Node binary. */
export function spawnNode(script: string, args: string[] = [], options?: SpawnedOptions): Spawned {
  return new Spawned(process.execPath, [script, ...args], { label: `${script.replace(ROOT, '')} ${args.join(' ')}`, ...options });
}

/** Called after each test: stops what is still running; returns the outputs for a failure dump. */
export async function stopTrackedProcesses(): Promise<string[]> {
  const dumps: string[] = [];
  await Promise.all(
    [...tracked].map(async (p) => {
      if (!p.exit) await p.stop();
      dumps.push(`--- ${p.label} (pid ${p.pid}, exit ${JSON.stringify(p.exit)}) ---\n${p.output}`);
    }),
  );
  tracked.clear();
  return dumps;
}
