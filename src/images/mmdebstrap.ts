// The mmdebstrap command line of a recipe (pure): a minbase root filesystem of
// the suite plus the recipe's packages, with the recipe's users written into
// /etc/passwd after the Essential packages and BEFORE the rest, so that the
// packages' postinst scripts (adduser --system postgres, chown) find them and
// keep their ids. Downloaded .deb files are kept in a per-suite cache.
import type { ImageRecipe, ImageUser, PreinstallFile } from './recipe.ts';

/** Single-quotes a string for sh. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Docs, man pages and translations never reach the rootfs (copyright files stay). */
export const DPKG_EXCLUDES = [
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/locale/*',
  'path-exclude=/usr/share/lintian/*',
];

/**
 * Shell run by --essential-hook ($1 is the rootfs): refuses a name or id that
 * base-passwd already uses, then appends passwd/group/shadow/gshadow entries and
 * creates the home directory owned by the user.
 */
export function usersHook(users: ImageUser[]): string {
  const lines = ['set -eu', 'r="$1"'];
  for (const u of users) {
    lines.push(
      `if grep -q ^${u.name}: "$r/etc/passwd" || cut -d: -f3 "$r/etc/passwd" | grep -qx ${u.uid}; then echo "user ${u.name} or uid ${u.uid} already exists in the base system" >&2; exit 1; fi`,
      `if grep -q ^${u.name}: "$r/etc/group" || cut -d: -f3 "$r/etc/group" | grep -qx ${u.gid}; then echo "group ${u.name} or gid ${u.gid} already exists in the base system" >&2; exit 1; fi`,
      `printf '%s\\n' ${shq(`${u.name}:x:${u.uid}:${u.gid}:${u.gecos},,,:${u.home}:${u.shell}`)} >> "$r/etc/passwd"`,
      `printf '%s\\n' ${shq(`${u.name}:x:${u.gid}:`)} >> "$r/etc/group"`,
      `printf '%s\\n' ${shq(`${u.name}:*:19000:0:99999:7:::`)} >> "$r/etc/shadow"`,
      `printf '%s\\n' ${shq(`${u.name}:!::`)} >> "$r/etc/gshadow"`,
      `mkdir -p "$r"${shq(u.home)}`,
      `chown ${u.uid}:${u.gid} "$r"${shq(u.home)}`,
    );
  }
  return lines.join('\n');
}

export function preinstallHook(files: PreinstallFile[]): string {
  const lines = ['set -eu', 'r="$1"'];
  for (const f of files) {
    const dir = f.path.slice(0, f.path.lastIndexOf('/')) || '/';
    lines.push(`mkdir -p "$r"${shq(dir)}`, `printf '%s' ${shq(f.content)} > "$r"${shq(f.path)}`);
  }
  return lines.join('\n');
}

export interface MmdebstrapInputs {
  target: string;
  mirror: string;
  /** The suite's .deb cache, copied in before the download. */
  aptCacheIn: string;
  /** Where this build's .deb files are copied out to (merged into the cache afterwards). */
  aptCacheOut: string;
}

export function mmdebstrapArgs(r: ImageRecipe, i: MmdebstrapInputs): string[] {
  const args = [
    '--variant=minbase',
    '--mode=root',
    '--format=directory',
    // The mirror reached here may be a frozen snapshot whose sid/trixie Release
    // files are past their Valid-Until; signatures are still checked.
    '--aptopt=Acquire::Check-Valid-Until "false"',
    '--aptopt=Acquire::Retries "3"',
    // The rootfs lies under a 0700 cache directory that apt's _apt user cannot
    // enter; apt would fall back to root with a warning, so say so up front.
    '--aptopt=APT::Sandbox::User "root"',
    ...DPKG_EXCLUDES.map((o) => `--dpkgopt=${o}`),
    // No fsync per file: an interrupted build is thrown away whole anyway.
    '--dpkgopt=force-unsafe-io',
    // Keep the downloaded .deb files until the customize hook has copied them out.
    '--skip=download/empty',
    '--skip=essential/unlink',
    `--setup-hook=mkdir -p "$1"/var/cache/apt/archives/`,
    `--setup-hook=sync-in ${shq(i.aptCacheIn)} /var/cache/apt/archives/`,
  ];
  if (r.users.length > 0) args.push(`--essential-hook=${usersHook(r.users)}`);
  if (r.preinstallFiles.length > 0) args.push(`--essential-hook=${preinstallHook(r.preinstallFiles)}`);
  if (r.packages.length > 0) args.push(`--include=${r.packages.join(',')}`);
  args.push(`--customize-hook=sync-out /var/cache/apt/archives ${shq(i.aptCacheOut)}`);
  args.push(r.suite, i.target, i.mirror);
  return args;
}

/**
 * Shell run as root inside the finished rootfs (chroot, no mounts): the
 * recipe's directories, then the trimming — apt lists and caches, logs, docs
 * other than copyright, the snakeoil key ssl-cert generates (a private key
 * baked into an image is shared by everyone who pulls it), the host's
 * resolv.conf/hostname that mmdebstrap copied in (runtimes provide their own),
 * mmdebstrap's apt options and the build-only dpkg option (the path excludes
 * stay, so packages installed later in a derived image stay trimmed too).
 */
export function finishScript(r: ImageRecipe): string {
  const lines = ['set -eu'];
  for (const d of r.dirs) {
    lines.push(`install -d -o ${shq(d.owner)} -g ${shq(d.owner)} -m ${d.mode.toString(8).padStart(4, '0')} ${shq(d.path)}`);
  }
  lines.push(
    'rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb /var/cache/debconf/*-old /var/lib/dpkg/*-old',
    'rm -rf /var/log/apt /var/log/dpkg.log /var/log/alternatives.log /var/log/bootstrap.log',
    'rm -rf /usr/share/man /usr/share/info /usr/share/lintian /usr/share/locale',
    'if [ -d /usr/share/doc ]; then find /usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete; find /usr/share/doc -mindepth 1 -type d -empty -delete; fi',
    'rm -f /etc/ssl/private/ssl-cert-snakeoil.key /etc/ssl/certs/ssl-cert-snakeoil.pem',
    'if [ -d /etc/ssl/certs ]; then find /etc/ssl/certs -xtype l -delete; fi',
    'rm -f /etc/apt/apt.conf.d/99mmdebstrap',
    "sed -i '/^force-unsafe-io$/d' /etc/dpkg/dpkg.cfg.d/99mmdebstrap",
    ': > /etc/resolv.conf',
    ': > /etc/hostname',
  );
  return lines.join('\n');
}
