// Runs a command inside an image's root filesystem the way a container runtime
// would: private mount, PID and network namespaces, /proc, a minimal /dev on a
// tmpfs (/dev/shm included: PostgreSQL needs it), then chroot as the given
// uid:gid with the image's Env and WorkingDir. Every mount lives in the
// private namespace, so nothing is left behind when the command ends.
// Used by the builder's checks and by tests; needs root.
import { spawn } from 'node:child_process';

export interface RootfsRunOptions {
  rootfs: string;
  /** Numeric uid:gid. */
  user: string;
  /** "KEY=value" entries: the process's whole environment. */
  env: string[];
  cwd?: string;
  argv: string[];
  /** 'none': no interface at all; 'loopback': only lo, up (servers and clients of one script). */
  network?: 'none' | 'loopback';
  timeoutMs?: number;
  input?: string;
  /**
   * A host directory for an overlay upper layer: writes land there and the image
   * stays as built (what a runtime does). Without it the rootfs itself is used,
   * read-only.
   */
  scratch?: string;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

// $1 rootfs, $2 uid:gid, $3 workdir, $4 network, $5 scratch dir or ""; the rest is
// argv. Host tools are named by absolute path: PATH is the image's.
const SETUP = `set -eu
r=$1 u=$2 wd=$3 net=$4 ov=$5; shift 5
if [ -n "$ov" ]; then
  /bin/mkdir -p "$ov/upper" "$ov/work" "$ov/merged"
  /bin/mount -t overlay pgtls-rootfs -o "lowerdir=$r,upperdir=$ov/upper,workdir=$ov/work" "$ov/merged"
  r=$ov/merged
else
  /bin/mount --bind "$r" "$r"
  /bin/mount -o remount,bind,ro "$r"
fi
/bin/mount -t proc proc "$r/proc"
/bin/mount -t tmpfs -o nosuid,mode=0755,size=1m pgtls-dev "$r/dev"
for d in null zero full random urandom tty; do : > "$r/dev/$d"; /bin/mount --bind "/dev/$d" "$r/dev/$d"; done
/bin/mkdir "$r/dev/shm" "$r/dev/pts"
/bin/mount -t tmpfs -o nosuid,nodev,mode=1777 pgtls-shm "$r/dev/shm"
/bin/ln -s /proc/self/fd "$r/dev/fd"; /bin/ln -s /proc/self/fd/0 "$r/dev/stdin"
/bin/ln -s /proc/self/fd/1 "$r/dev/stdout"; /bin/ln -s /proc/self/fd/2 "$r/dev/stderr"
if [ "$net" = loopback ]; then /sbin/ip link set lo up; fi
exec /usr/sbin/chroot --userspec="$u" "$r" /bin/sh -c 'cd "$0" && exec "$@"' "$wd" "$@"
`;

/** The argv that runs `o.argv` inside the rootfs (pure; spawned by runInRootfs). */
export function rootfsArgv(o: RootfsRunOptions): string[] {
  return [
    '/usr/bin/unshare',
    '--mount',
    '--propagation',
    'private',
    '--pid',
    '--fork',
    '--kill-child',
    '--net',
    '--uts',
    '--ipc',
    '/bin/sh',
    '-c',
    SETUP,
    'pgtls-rootfs',
    o.rootfs,
    o.user,
    o.cwd ?? '/',
    o.network ?? 'none',
    o.scratch ?? '',
    ...o.argv,
  ];
}

export function runInRootfs(o: RootfsRunOptions): Promise<RunResult> {
  const [cmd, ...args] = rootfsArgv(o);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, args, {
      env: Object.fromEntries(o.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: o.timeoutMs ?? 60_000,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(o.input ?? '');
  });
}

/** runInRootfs, failing with the command's output when it does not exit 0. */
export async function runInRootfsOk(o: RootfsRunOptions): Promise<RunResult> {
  const r = await runInRootfs(o);
  if (r.code !== 0) {
    throw new Error(`${o.argv.join(' ')} (as ${o.user} in ${o.rootfs}) exited with ${r.code ?? r.signal}: ${(r.stderr || r.stdout).trim().slice(-2000)}`);
  }
  return r;
}

/** The image env plus HOME, as a runtime sets it from the user's passwd entry. */
export function withHome(env: string[], home: string): string[] {
  return env.some((e) => e.startsWith('HOME=')) ? env : [...env, `HOME=${home}`];
}
