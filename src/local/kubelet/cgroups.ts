// The kubelet's cgroup root: created by pgtls (the kubelet refuses a missing
// one) under the cgroup `pgtls up` itself runs in, in every hierarchy, and
// removed by `down` together with every directory `up` had to create.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const CGROUP_FS = '/sys/fs/cgroup';

/** The deepest cgroup path this process is in (hybrid v1: it differs per controller), from /proc/self/cgroup text. */
export function ownCgroupPath(procSelfCgroup: string): string {
  let best = '/';
  for (const line of procSelfCgroup.split('\n')) {
    const path = line.split(':').slice(2).join(':');
    if (path.startsWith('/') && path.length > best.length) best = path;
  }
  return best;
}

export function cgroupRootFor(procSelfCgroup: string, apiserverPort: number): string {
  return join(ownCgroupPath(procSelfCgroup), `pgtls-${apiserverPort}`);
}

/** Every mounted hierarchy (v1 controllers, name=systemd, the cgroup2 one of a hybrid layout). */
export function hierarchies(): string[] {
  if (!existsSync(CGROUP_FS)) return [];
  if (existsSync(join(CGROUP_FS, 'cgroup.controllers'))) return [CGROUP_FS]; // pure cgroup v2
  return readdirSync(CGROUP_FS)
    .map((d) => join(CGROUP_FS, d))
    .filter((d) => existsSync(join(d, 'cgroup.procs')));
}

/** Creates root in every hierarchy; returns the directories it created (parents first). */
export function createCgroupRoot(root: string): string[] {
  const created: string[] = [];
  for (const h of hierarchies()) {
    let dir = h;
    for (const part of root.split('/').filter(Boolean)) {
      dir = join(dir, part);
      if (existsSync(dir)) continue;
      mkdirSync(dir);
      created.push(dir);
      // A new cpuset cgroup starts empty: give it its parent's CPUs and memory nodes.
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        const parent = join(dirname(dir), f);
        if (existsSync(join(dir, f)) && existsSync(parent)) writeFileSync(join(dir, f), readFileSync(parent, 'utf8'));
      }
    }
  }
  return created;
}

function rmdirTree(dir: string): string[] {
  const failed: string[] = [];
  if (!existsSync(dir)) return failed;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) failed.push(...rmdirTree(join(dir, e.name)));
  try {
    rmdirSync(dir); // cgroupfs: rmdir of an empty (no tasks, no children) cgroup, never rm -r
  } catch (err) {
    failed.push(`${dir}: ${(err as Error).message}`);
  }
  return failed;
}

/** Removes root's subtree in every hierarchy, then the parents `up` created; returns what could not be removed. */
export function removeCgroupRoot(root: string, created: string[]): string[] {
  const failed: string[] = [];
  for (const h of hierarchies()) failed.push(...rmdirTree(join(h, root)));
  for (const dir of [...created].reverse()) {
    if (!existsSync(dir)) continue;
    try {
      rmdirSync(dir);
    } catch (err) {
      failed.push(`${dir}: ${(err as Error).message}`);
    }
  }
  return failed;
}
