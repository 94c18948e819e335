// Follows an ops request until it ends: on a terminal, a block redrawn in
// place; elsewhere (CI, a pipe, the guides' tests) each line once, when it
// stops changing. Bounded by a deadline; polling, so it needs only `get`.
import type { Writable } from 'node:stream';
import type { PluginContext } from '../context.ts';
import { apiError } from '../context.ts';
import { EXIT, PluginError } from '../errors.ts';
import { OPS_API_VERSION } from '../kinds.ts';
import { fmtMs } from '../output.ts';
import { headerLine, outcomeLine, progressView, stepLines, type OpsLike, type ProgressView } from './progress.ts';

export interface FollowOptions {
  timeoutMs: number;
  intervalMs?: number;
  out: Writable & { isTTY?: boolean };
  /** Redraw in place (a terminal); otherwise print lines once. */
  live: boolean;
}

export interface FollowResult {
  op: OpsLike;
  view: ProgressView;
  exitCode: number;
}

export function exitCodeOf(phase: string): number {
  return phase === 'Successful' ? EXIT.ok : phase === 'Failed' ? EXIT.failed : phase === 'Skipped' ? EXIT.skipped : EXIT.timeout;
}

/** Seconds between "still running" lines in plain output: PGTLS_PROGRESS_HEARTBEAT (default 30; 0: none). */
function heartbeatMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.PGTLS_PROGRESS_HEARTBEAT ?? 30);
  return Number.isFinite(v) && v >= 0 ? v * 1000 : 30_000;
}

/** Exported for the unit tests of what the two modes print. */
export class Printer {
  private drawn = 0;
  private printed = new Set<string>();
  private lastLine = Date.now();
  constructor(private readonly o: FollowOptions) {}

  show(v: ProgressView): void {
    if (this.o.live) {
      const block = [headerLine(v), ...v.steps.flatMap(stepLines)];
      // Move up over the last block and clear it: one block, redrawn in place.
      if (this.drawn) this.o.out.write(`\x1b[${this.drawn}A\x1b[0J`);
      this.o.out.write(`${block.join('\n')}\n`);
      this.drawn = block.length;
      return;
    }
    // Plain: a step with its pods once it is finished, so the output is the same however the polls fall.
    if (!this.printed.has('')) this.write(`${v.kind} ${v.namespace}/${v.name} (database ${v.database})`);
    this.printed.add('');
    for (const s of v.steps) {
      if (s.state === 'running' || this.printed.has(s.type)) continue;
      this.printed.add(s.type);
      for (const l of stepLines(s)) this.write(l);
    }
    const every = heartbeatMs();
    if (every === 0 || Date.now() - this.lastLine < every) return;
    const running = v.steps.find((s) => s.state === 'running');
    if (running) this.write(`  … ${running.type} still running (${fmtMs(running.tookMs ?? 0)} so far)`);
    else if (v.phase === 'Pending') this.write(`  … Pending for ${fmtMs(v.elapsedMs)} (with apply: IfReady it waits for the database to be Ready, and for any other request on it to end)`);
  }

  private write(line: string): void {
    this.o.out.write(`${line}\n`);
    this.lastLine = Date.now();
  }
}

export async function followOps(ctx: PluginContext, opsKind: string, name: string, o: FollowOptions): Promise<FollowResult> {
  const deadline = Date.now() + o.timeoutMs;
  const interval = o.intervalMs ?? 500;
  const printer = new Printer(o);
  let op: OpsLike | undefined;
  let misses = 0;
  for (;;) {
    try {
      op = (await ctx.kube.get(OPS_API_VERSION, opsKind, name, ctx.namespace)) as OpsLike | undefined;
      misses = 0;
    } catch (err) {
      // A blip of the API server is not the end of the request; a persistent error is.
      if (++misses >= 10) throw apiError(err, `${opsKind} ${ctx.namespace}/${name}`);
    }
    if (op === undefined && misses === 0) throw new PluginError(`${opsKind} ${ctx.namespace}/${name} not found (deleted while following?)`);
    if (op) {
      const v = progressView(op, new Date());
      printer.show(v);
      if (v.ended) {
        o.out.write(`${outcomeLine(v)}\n`);
        return { op, view: v, exitCode: exitCodeOf(v.phase) };
      }
    }
    if (Date.now() >= deadline) {
      const v = progressView(op ?? {}, new Date());
      o.out.write(`gave up following after ${Math.round(o.timeoutMs / 1000)}s; ${opsKind} ${ctx.namespace}/${name} is still ${v.phase} (it goes on; follow it again with: kubectl pgtls tls follow ${opsKind.toLowerCase()}/${name} -n ${ctx.namespace})\n`);
      return { op: op ?? {}, view: v, exitCode: EXIT.timeout };
    }
    await new Promise((r) => setTimeout(r, Math.min(interval, Math.max(0, deadline - Date.now()))));
  }
}
