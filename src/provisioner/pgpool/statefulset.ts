// The Pgpool StatefulSet. The pod template does not depend on TLS: the config
// secret is mounted at /opt/pgpool-II/etc, and /opt/pgpool-II/tls is a
// projected volume of the staged TLS secret (optional) and the
// rendered ca.pem, so a TLS change is a file change plus the pod restart that
// Pgpool-II 4.3 needs (the ops-manager's job; updateStrategy OnDelete).
import { buildStatefulSet } from '../specs/statefulset.ts';
import { KUBEDB_PGPOOL_PATHS, PGPOOL_FILES } from '../../engines/pgpool/index.ts';
import type { KindInfo } from '../../kinds/info.ts';
import type { DbRef } from '../specs/owner.ts';
import { configSecretName } from '../specs/secrets.ts';
import { CA_PEM_KEY, PGPOOL_PCP_PORT, PGPOOL_PORT } from './config.ts';
import { stagedTlsSecretName, stagedTlsVolume } from '../specs/tls-staging.ts';
import type { PodSpec, VersionUser } from '../specs/pod-template.ts';

export const PGPOOL_CONTAINER = 'pgpool';

export interface PgpoolStsInput {
  info: KindInfo;
  db: DbRef;
  image: string;
  /** The catalog version's user (70 in our and the pgpool/pgpool images). */
  user: VersionUser;
  replicas: number;
  podTemplate?: unknown;
}

const ETC = KUBEDB_PGPOOL_PATHS.configDir;
const RUN = KUBEDB_PGPOOL_PATHS.runDir;
const TLS_DIR = '/opt/pgpool-II/tls';
/**
 * With two or more replicas, a Pgpool pod that is being deleted keeps serving
 * this long before SIGTERM: it has left its Service (a terminating pod is not
 * an endpoint), so new clients go to the other replicas meanwhile and none is
 * refused by a pod that is going away. One replica has nowhere else to send
 * them, so it stops at once (waiting would only lengthen the outage).
 */
export const PGPOOL_DRAIN_SECONDS = 5;

// pgpool.conf cannot read the environment: the start-up copy sets the listen
// addresses, every address of the pod (port-forward and sidecars dial
// localhost) unless the pod shares the host's network (a loopback pod IP, the
// node agent's loopback mode), where '*' would clash with other pods.
// pool_passwd is named relative to pgpool.conf, so a link keeps it the
// mounted (reloadable) file. A pid file left behind would stop the start; the
// runtime kills a container's whole process group, so one found here is stale.
// Pgpool reads the root-owned 0640 Secret files through the pod's fsGroup.
const runScript = `set -eu
case "$POD_IP" in 127.*) listen="$POD_IP" ;; *) listen='*' ;; esac
rm -f ${RUN}/pgpool.pid
sed -e "s/^listen_addresses = .*/listen_addresses = '$listen'/" \\
    -e "s/^pcp_listen_addresses = .*/pcp_listen_addresses = '$listen'/" \\
    ${ETC}/${PGPOOL_FILES.conf} > ${RUN}/${PGPOOL_FILES.conf}
ln -sf ${ETC}/${PGPOOL_FILES.passwd} ${RUN}/${PGPOOL_FILES.passwd}
exec pgpool -n -D -f ${RUN}/${PGPOOL_FILES.conf} -F ${ETC}/${PGPOOL_FILES.pcp} -a ${ETC}/${PGPOOL_FILES.hba}`;

/** The pod the StatefulSet runs, before the catalog user and the podTemplate (admission checks a podTemplate against it). */
export function pgpoolPodSpec(i: Pick<PgpoolStsInput, 'db' | 'image' | 'replicas'>): PodSpec {
  const config = configSecretName(i.db.name);
  const staged = stagedTlsSecretName(i.db.name);
  const certVolume = (name: string, items: [string, string][]) => stagedTlsVolume(i.db.name, name, items);
  const volumes = [
    { name: 'config', secret: { secretName: config, defaultMode: 0o600, items: Object.values(PGPOOL_FILES).map((k) => ({ key: k, path: k })) } },
    {
      name: 'tls',
      projected: {
        defaultMode: 0o600,
        sources: [
          { secret: { name: staged, optional: true, items: [{ key: 'server.crt', path: 'tls.crt' }, { key: 'server.key', path: 'tls.key' }] } },
          { secret: { name: config, items: [{ key: CA_PEM_KEY, path: 'ca.pem' }] } },
        ],
      },
    },
    { name: 'run', emptyDir: {} },
    certVolume('client-cert', [['client.crt', 'tls.crt'], ['client.key', 'tls.key'], ['client-ca.crt', 'ca.crt']]),
    certVolume('exporter-cert', [['exporter.crt', 'tls.crt'], ['exporter.key', 'tls.key'], ['ca.crt', 'ca.crt']]),
  ];
  const mounts = [
    { name: 'config', mountPath: ETC },
    { name: 'tls', mountPath: TLS_DIR },
    { name: 'run', mountPath: RUN },
    // KubeDB mounts these too; nothing in Pgpool reads them, they keep the template TLS-invariant.
    { name: 'client-cert', mountPath: '/config/tls/client' },
    { name: 'exporter-cert', mountPath: '/tls/certs/exporter' },
  ];
  return {
    terminationGracePeriodSeconds: 10,
    containers: [
      {
        name: PGPOOL_CONTAINER,
        image: i.image,
        command: ['sh', '-c', runScript],
        env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
        ports: [
          { name: 'pgpool', containerPort: PGPOOL_PORT, protocol: 'TCP' },
          { name: 'pcp', containerPort: PGPOOL_PCP_PORT, protocol: 'TCP' },
        ],
        volumeMounts: mounts,
        readinessProbe: { tcpSocket: { port: PGPOOL_PORT }, periodSeconds: 2, failureThreshold: 3 },
        ...(i.replicas >= 2 ? { lifecycle: { preStop: { sleep: { seconds: PGPOOL_DRAIN_SECONDS } } } } : {}),
      },
    ],
    volumes,
  };
}

export function buildPgpoolStatefulSet(i: PgpoolStsInput): object {
  return buildStatefulSet({
    info: i.info,
    db: i.db,
    replicas: i.replicas,
    podManagementPolicy: 'Parallel',
    mainContainer: PGPOOL_CONTAINER,
    user: i.user,
    podTemplate: i.podTemplate,
    podSpec: pgpoolPodSpec(i),
  });
}
