// Images for the kubelet runtime without a registry: OCI archives built here
// with umoci (the pause image, CoreDNS, a busybox utility image) and imported
// into containerd's k8s.io namespace with `ctr images import`. The images
// helper's Debian-built images are imported the same way (importArchive).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync, copyFileSync, chmodSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { binaryCache } from '../home.ts';
import { HostCommandError } from './namespaces.ts';

export interface ImageSpec {
  /** Repository without tag, e.g. pgtls.local/pause. */
  repo: string;
  tag: string;
  /** Fills the root filesystem directory. */
  fill(rootfs: string): void;
  entrypoint?: string[];
  cmd?: string[];
  user?: string;
  env?: string[];
}

export const imageRef = (s: Pick<ImageSpec, 'repo' | 'tag'>) => `${s.repo}:${s.tag}`;

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new HostCommandError(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new HostCommandError(`${cmd} ${args.join(' ')} failed (${r.status}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** Builds (once, cached by repo and tag) an OCI archive of spec; returns its path. */
export function buildImageArchive(spec: ImageSpec, cacheDir = join(binaryCache(), 'oci')): string {
  const file = join(cacheDir, `${spec.repo.replace(/[/:]/g, '_')}-${spec.tag}.tar`);
  if (existsSync(file)) return file;
  mkdirSync(cacheDir, { recursive: true });
  const work = mkdtempSync(join(cacheDir, '.build-'));
  try {
    const layout = join(work, 'oci');
    const img = `${layout}:${spec.tag}`;
    const rootfs = join(work, 'rootfs');
    mkdirSync(rootfs);
    spec.fill(rootfs);
    run('umoci', ['init', '--layout', layout]);
    run('umoci', ['new', '--image', img]);
    run('umoci', ['insert', '--image', img, rootfs, '/']);
    const cfg = ['config', '--image', img, '--os', 'linux', '--architecture', 'amd64'];
    for (const e of spec.entrypoint ?? []) cfg.push('--config.entrypoint', e);
    for (const c of spec.cmd ?? []) cfg.push('--config.cmd', c);
    for (const e of spec.env ?? []) cfg.push('--config.env', e);
    if (spec.user) cfg.push('--config.user', spec.user);
    run('umoci', cfg);
    run('tar', ['-C', layout, '-cf', `${file}.tmp`, '.']);
    renameSync(`${file}.tmp`, file);
    return file;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function copyExecutable(src: string, dst: string): void {
  if (!existsSync(src)) throw new HostCommandError(`${src} is missing (bash scripts/build-binaries.sh --kubelet-runtime builds it)`);
  copyFileSync(src, dst);
  chmodSync(dst, 0o755);
}

export function pauseImage(pauseBinary: string, version: string): ImageSpec {
  return {
    repo: 'pgtls.local/pause',
    tag: version,
    fill: (r) => copyExecutable(pauseBinary, join(r, 'pause')),
    entrypoint: ['/pause'],
    user: '65535:65535',
  };
}

export function corednsImage(corednsBinary: string, version: string): ImageSpec {
  return {
    repo: 'pgtls.local/coredns',
    tag: version,
    fill: (r) => {
      copyExecutable(corednsBinary, join(r, 'coredns'));
      mkdirSync(join(r, 'etc', 'coredns'), { recursive: true });
    },
    entrypoint: ['/coredns'],
  };
}

/** busybox-static from Debian: a shell, httpd, wget and nslookup for checks and tests. */
export function busyboxImage(busybox = '/bin/busybox', tag = '1.35'): ImageSpec {
  return {
    repo: 'pgtls.local/busybox',
    tag,
    fill: (r) => {
      for (const d of ['bin', 'etc', 'tmp', 'www', 'root']) mkdirSync(join(r, d));
      chmodSync(join(r, 'tmp'), 0o1777);
      copyExecutable(busybox, join(r, 'bin', 'busybox'));
      for (const applet of run(busybox, ['--list']).split('\n').filter((a) => a && a !== 'busybox')) symlinkSync('busybox', join(r, 'bin', applet));
      writeFileSync(join(r, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n');
      writeFileSync(join(r, 'etc', 'group'), 'root:x:0:\nnobody:x:65534:\n');
      writeFileSync(join(r, 'www', 'index.html'), 'pgtls busybox\n');
    },
    cmd: ['/bin/sh'],
    env: ['PATH=/bin'],
  };
}

export interface Ctr {
  (args: string[]): string;
}

export function ctrFor(containerdSock: string): Ctr {
  return (args) => run('ctr', ['--address', containerdSock, '--namespace', 'k8s.io', ...args]);
}

/** Imports an OCI archive as repo:<its ref name> unless that image is already there. */
export function importArchive(ctr: Ctr, archive: string, ref: string): boolean {
  if (ctr(['images', 'ls', '-q']).split('\n').includes(ref)) return false;
  const repo = ref.slice(0, ref.lastIndexOf(':'));
  ctr(['images', 'import', '--base-name', repo, archive]);
  if (!ctr(['images', 'ls', '-q']).split('\n').includes(ref)) {
    throw new HostCommandError(`importing ${archive} did not create ${ref} (the archive's ref name must be the tag)`);
  }
  return true;
}

/** The OCI archives in a directory. */
export const archivesIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.tar')).sort().map((f) => join(dir, f)) : []);

/** Imports an archive under the full name(s) its index carries (skopeo's oci-archive:FILE:NAME); returns the output of ctr. */
export function importNamedArchive(ctr: Ctr, archive: string): string {
  return ctr(['images', 'import', archive]).trim();
}
