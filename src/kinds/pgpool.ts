// Pgpool: a pooler in front of a KubeDB Postgres (spec.postgresRef), in
// streaming-replication mode: writes to the primary Service, reads balanced to
// the standby Service as well. Pgpool-II 4.3 builds its TLS context once,
// at start: every TLS change is a restart, pod by pod, highest ordinal first.
import { PGPOOL, PGPOOL_OPS, PGPOOL_VERSION } from '../api/kinds.ts';
import type { Pgpool } from '../api/kubedb.com/v1alpha2/pgpool.ts';
import type { Named } from '../api/objects.ts';
import { pgpoolEngine } from '../engines/pgpool/engine.ts';
import { PGPOOL_PORT, pgpoolTlsView } from '../provisioner/pgpool/config.ts';
import { pgpoolProvisioner } from '../provisioner/pgpool/provisioner.ts';
import { ordinal } from '../provisioner/objects.ts';
import { defaultPgpool } from '../webhook/defaults/pgpool.ts';
import { pgpoolValidators } from '../webhook/validators/pgpool.ts';
import { checkPoolerReference, referenceChanged } from '../webhook/validators/reference.ts';
import { clientAuthModeTls } from './common.ts';
import { kindInfo } from './info.ts';
import { defineKind, type KindModule } from './types.ts';

type Pp = Named<Pgpool>;
const info = kindInfo(PGPOOL, PGPOOL_OPS, { component: 'connection-pooler', clientCertUser: 'postgres' });

export const pgpoolModule: KindModule<Pp, Pgpool> = {
  info,
  api: { db: PGPOOL, ops: PGPOOL_OPS, catalog: PGPOOL_VERSION },
  is: (obj): obj is Pp => obj.kind === 'Pgpool',
  admission: {
    default: defaultPgpool,
    validators: pgpoolValidators,
    // Its backend Postgres: the validators check it exists and how it serves TLS.
    async facts(pp, lookups) {
      const ns = pp.spec?.postgresRef?.namespace || pp.metadata?.namespace || '';
      return { target: (await lookups.getDatabase('Postgres', ns, pp.spec?.postgresRef?.name ?? '')) ?? null };
    },
    async authorize(pp, old, user, lookups) {
      const ns = pp.metadata?.namespace ?? '';
      const ref = pp.spec?.postgresRef;
      if (!ref || !referenceChanged(ref, old?.spec?.postgresRef, ns)) return [];
      return checkPoolerReference({ field: 'spec.postgresRef', referrerNamespace: ns, ref: { namespace: ref.namespace || ns, name: ref.name } }, user, lookups);
    },
  },
  provisioner: pgpoolProvisioner(info),
  ops: {
    ...clientAuthModeTls<Pp>(pgpoolTlsView),
    defaultAuth: () => 'md5',
    port: () => PGPOOL_PORT,
    order: (pods) => [...pods].sort((a, b) => ordinal(b) - ordinal(a)),
  },
  engine: pgpoolEngine,
};

export const pgpool = defineKind(pgpoolModule);
