/**
 * Benchmark contenders run in their own Node processes, so process.cpuUsage() (which
 * includes libvips' threads) counts one contender only, and two sharp/libvips versions
 * never share a process. The parent drives a child over IPC: `call(name, arg)` runs the
 * child's handler and resolves with its answer.
 */
import { fork, type ChildProcess } from 'node:child_process';

type Handler = (arg: any) => unknown | Promise<unknown>;
interface Request {
  id: number;
  name: string;
  arg: unknown;
}
type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

export interface ChildOptions {
  env?: Record<string, string>;
  /** Keep the child's stdout (e.g. JSON logs) instead of showing it; see `stdout()`. */
  captureStdout?: boolean;
  execArgv?: string[];
}

export class Child {
  private seq = 0;
  private readonly waiting = new Map<number, { ok: (v: any) => void; fail: (e: Error) => void }>();
  private out = '';
  private exited = false;

  private constructor(readonly proc: ChildProcess) {
    proc.on('message', (m: Reply) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.ok) w.ok(m.value);
      else w.fail(new Error(m.error));
    });
    proc.stdout?.on('data', (d: Buffer) => {
      this.out = (this.out + d.toString('utf8')).slice(-2_000_000);
    });
    proc.on('exit', (code) => {
      this.exited = true;
      for (const w of this.waiting.values()) w.fail(new Error(`benchmark child exited (code ${code})`));
      this.waiting.clear();
    });
  }

  static async start(file: string, opts: ChildOptions = {}): Promise<Child> {
    const proc = fork(file, [], {
      env: { ...process.env, ...opts.env },
      execArgv: opts.execArgv ?? process.execArgv,
      stdio: ['ignore', opts.captureStdout ? 'pipe' : 'inherit', 'inherit', 'ipc'],
    });
    const child = new Child(proc);
    await child.call('__ready');
    return child;
  }

  call<T = unknown>(name: string, arg?: unknown): Promise<T> {
    if (this.exited) return Promise.reject(new Error('benchmark child is not running'));
    const id = ++this.seq;
    return new Promise<T>((ok, fail) => {
      this.waiting.set(id, { ok, fail });
      this.proc.send({ id, name, arg } satisfies Request);
    });
  }

  /** What the child wrote to stdout (when captured). */
  stdout(): string {
    return this.out;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((ok) => this.proc.once('exit', () => ok()));
    this.proc.send({ id: 0, name: '__exit', arg: null } satisfies Request);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  }
}

/** The child's side: answers the parent's calls with these handlers. */
export function serve(handlers: Record<string, Handler>): void {
  process.on('message', async (m: Request) => {
    if (m.name === '__exit') {
      process.disconnect?.();
      process.exit(0);
    }
    let reply: Reply;
    try {
      const h = m.name === '__ready' ? () => true : handlers[m.name];
      if (!h) throw new Error(`no handler "${m.name}"`);
      reply = { id: m.id, ok: true, value: await h(m.arg) };
    } catch (err) {
      reply = { id: m.id, ok: false, error: err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err) };
    }
    process.send!(reply);
  });
}

/** CPU seconds (user + system, all threads) and wall milliseconds of `fn`. */
export async function measure<T>(fn: () => Promise<T>): Promise<{ cpuS: number; wallMs: number; value: T }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { cpuS: (cpu.user + cpu.system) / 1e6, wallMs, value };
}
