// Runnable guides (docs/guides/): the format, parsed; expected output, matched;
// and a shell that runs a guide's commands one after another, as a reader would.
//
// Format (docs/guides/README.md says the same for readers):
// - ```bash blocks are run, in order, one shell per guide. `$ ` starts a command;
//   a line ending in `\` continues it, a heredoc (`<<EOF`, `<<'EOF'`) runs to its
//   terminator. The lines after a command, up to the next `$ `, are its expected
//   output (stdout and stderr together); none: not checked.
// - ```bash no-run blocks are shown only; ```bash exit=N expects exit status N.
// - ```yaml <path> blocks must equal the file at <path> (which the commands apply).
// - In expected output: a line `...` stands for any number of lines (none too);
//   `<word>` (lower-case, digits, dashes) stands for any text within a line; runs
//   of spaces compare as one space (kubectl pads its columns).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface Block {
  lang: string;
  attrs: string[];
  body: string;
  /** 1-based line of the opening fence. */
  line: number;
}

export interface Command {
  cmd: string;
  expected: string[];
  line: number;
  exit: number;
}

export function parseBlocks(md: string): Block[] {
  const lines = md.split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    if (i >= lines.length) throw new Error(`line ${start + 1}: code block not closed`);
    out.push({ lang: open[1]!, attrs: open[2]!.split(/\s+/).filter(Boolean), body: body.join('\n'), line: start + 1 });
  }
  return out;
}

export function blockExit(b: Block): number {
  const a = b.attrs.find((x) => x.startsWith('exit='));
  return a ? Number(a.slice(5)) : 0;
}

export function parseCommands(b: Block): Command[] {
  const lines = b.body.split('\n');
  const cmds: Command[] = [];
  let i = 0;
  if (lines.length && lines[0]!.trim() !== '' && !lines[0]!.startsWith('$ ')) {
    throw new Error(`line ${b.line + 1}: a bash block starts with a command ("$ ...")`);
  }
  while (i < lines.length) {
    const first = lines[i]!;
    if (!first.startsWith('$ ')) {
      i++;
      continue;
    }
    const line = b.line + 1 + i;
    const parts = [first.slice(2)];
    i++;
    // Continuations and heredocs belong to the command.
    for (;;) {
      const last = parts[parts.length - 1]!;
      const heredoc = /<<-?\s*(['"]?)([A-Za-z_]+)\1/.exec(last);
      if (heredoc) {
        const end = heredoc[2]!;
        while (i < lines.length && lines[i]!.trim() !== end) parts.push(lines[i++]!);
        if (i >= lines.length) throw new Error(`line ${line}: heredoc ${end} not terminated`);
        parts.push(lines[i++]!);
        continue;
      }
      if (last.endsWith('\\') && i < lines.length) {
        parts.push(lines[i++]!);
        continue;
      }
      break;
    }
    const expected: string[] = [];
    while (i < lines.length && !lines[i]!.startsWith('$ ')) expected.push(lines[i++]!);
    while (expected.length && expected[expected.length - 1]!.trim() === '') expected.pop();
    cmds.push({ cmd: parts.join('\n'), expected, line, exit: blockExit(b) });
  }
  return cmds;
}

const norm = (s: string) => s.replace(/\s+/g, ' ').trim();

function lineRegex(expected: string): RegExp {
  const parts = norm(expected).split(/(<[a-z][a-z0-9-]*>)/);
  const re = parts.map((p, k) => (k % 2 === 1 ? '.+?' : p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${re}$`);
}

/** Does the actual output match the expected lines? Returns undefined, or why not. */
export function matchOutput(expected: string[], actual: string): string | undefined {
  if (expected.length === 0) return undefined;
  const act = actual.split('\n').map(norm).filter((l) => l !== '');
  const exp = expected.map((l) => (l.trim() === '...' ? '...' : l)).filter((l) => norm(l) !== '');
  const res = exp.map((l) => (l === '...' ? null : lineRegex(l)));
  // Backtracking over `...` lines; guides are short, so this stays small.
  const memo = new Map<string, boolean>();
  const go = (e: number, a: number): boolean => {
    const key = `${e}:${a}`;
    if (memo.has(key)) return memo.get(key)!;
    let ok: boolean;
    if (e === res.length) ok = a === act.length;
    else if (res[e] === null) ok = go(e + 1, a) || (a < act.length && go(e, a + 1));
    else ok = a < act.length && res[e]!.test(act[a]!) && go(e + 1, a + 1);
    memo.set(key, ok);
    return ok;
  };
  if (go(0, 0)) return undefined;
  // Say where it first went wrong, for the failure message.
  let a = 0;
  for (let e = 0; e < res.length; e++) {
    const r = res[e];
    if (!r) continue;
    const found = act.slice(a).findIndex((l) => r.test(l));
    if (found === -1) return `expected line ${JSON.stringify(exp[e])} not found${a < act.length ? ` (from actual line ${JSON.stringify(act[a])} on)` : ' (output ended)'}`;
    if (found > 0 && res[e - 1] !== null) return `expected ${JSON.stringify(exp[e])}, got ${JSON.stringify(act[a])}`;
    a += found + 1;
  }
  return a < act.length ? `unexpected extra output from ${JSON.stringify(act[a])}` : 'output does not match';
}

/** One bash for a guide: state (cd, variables) carries from command to command. */
export class GuideShell {
  private readonly proc: ChildProcessWithoutNullStreams;
  private buf = '';
  private errBuf = '';
  private waiter?: (line: string) => void;

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    this.proc = spawn('bash', ['--noprofile', '--norc'], { cwd, env, detached: true });
    this.proc.stdout.on('data', (d) => {
      this.buf += String(d);
      const m = /__PGTLS_DONE (\d+)\n/.exec(this.buf);
      if (m && this.waiter) {
        this.buf = this.buf.slice(m.index + m[0].length);
        const w = this.waiter;
        this.waiter = undefined;
        w(m[1]!);
      }
    });
    this.proc.stderr.on('data', (d) => (this.errBuf += String(d)));
    this.proc.stdin.write('set +e; __pgtls_out=$(mktemp)\n');
  }

  /** Runs one command; its stdout and stderr together, and its exit status. */
  run(cmd: string, timeoutMs: number): Promise<{ code: number; output: string }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`timed out after ${timeoutMs / 1000}s`));
      }, timeoutMs);
      this.waiter = (code) => {
        clearTimeout(timer);
        // The output file is read by the shell itself, so no race with its writes.
        this.readOutput().then((output) => resolve({ code: Number(code), output }), reject);
      };
      this.proc.stdin.write(`{\n${cmd}\n} >"$__pgtls_out" 2>&1 </dev/null\nprintf '__PGTLS_DONE %d\\n' "$?"\n`);
    });
  }

  private readOutput(): Promise<string> {
    return new Promise((resolve) => {
      const check = () => {
        const i = this.buf.indexOf('__PGTLS_OUT_END\n');
        if (i === -1) return;
        this.proc.stdout.off('data', check);
        const text = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + '__PGTLS_OUT_END\n'.length);
        resolve(Buffer.from(text.replace(/\s+/g, ''), 'base64').toString('utf8'));
      };
      this.proc.stdout.on('data', check);
      this.proc.stdin.write(`base64 "$__pgtls_out"; echo __PGTLS_OUT_END\n`);
      check();
    });
  }

  /** Ends the shell, then anything it left running (its own process group only). */
  async close(): Promise<void> {
    const exited = new Promise((r) => this.proc.once('close', r));
    this.proc.stdin.end('rm -f "$__pgtls_out"; exit 0\n');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    try {
      if (this.proc.pid) process.kill(-this.proc.pid, 'SIGTERM');
    } catch {
      /* the group is empty */
    }
  }

  get stderr(): string {
    return this.errBuf;
  }
}
