// The Postgres StatefulSet. Its pod template does not depend on TLS: the
// certificate secrets are always mounted (optional) and the config comes from
// a secret, so adding, removing or rotating TLS changes files, never the
// template, and PostgreSQL takes it by reload. The TLS files come from the
// staged secret `<db>-tls-certs`, never straight from cert-manager. updateStrategy OnDelete leaves
// every restart to the operator.
import { buildStatefulSet } from '../specs/statefulset.ts';
import type { KindInfo } from '../../kinds/info.ts';
import { offshootLabels } from '../../kinds/info.ts';
import type { DbRef } from '../specs/owner.ts';
import { governingServiceName } from '../specs/services.ts';
import { configSecretName } from '../specs/secrets.ts';
import { stagedTlsVolume } from '../specs/tls-staging.ts';
import { CONFIG_DIR, DATA_DIR, PASSFILE, PG_PORT, SOCKET_DIR } from './config.ts';
import type { PodSpec, VersionUser } from '../specs/pod-template.ts';

export const POSTGRES_CONTAINER = 'postgres';

export interface PostgresStsInput {
  info: KindInfo;
  db: DbRef;
  image: string;
  /** The catalog version's user (999 in the Debian-based images). */
  user: VersionUser;
  replicas: number;
  authSecret: string;
  storage?: Record<string, unknown>;
  ephemeral: boolean;
  podTemplate?: unknown;
}

// Both scripts run as the image's non-root user under a kubelet's rules: Secret
// files are root:<fsGroup> 0640, the data volume is group-owned (fsGroup, or
// the local-path provisioner's setgid directory), and commands come from the
// image's PATH.
const initScript = (db: string, ns: string) => `set -eu
PGDATA=${DATA_DIR}
if [ -s "$PGDATA/PG_VERSION" ]; then echo "data directory exists"; exit 0; fi
mkdir -p "$PGDATA"; chmod 0700 "$PGDATA"
if [ "\${POD_NAME##*-}" = 0 ]; then
  pw=$(mktemp -p ${SOCKET_DIR}); printf '%s\\n' "$POSTGRES_PASSWORD" > "$pw"
  initdb -D "$PGDATA" -U postgres --pwfile="$pw" --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pw"
else
  # A standby starts as a copy of the primary, over TLS (verify-full) when the primary serves it.
  # The config secret says how the cluster does TLS, so the pod template never changes with it.
  # libpq accepts the root-owned 0640 client key (group fsGroup), as the server does.
  export PGPASSWORD="$POSTGRES_PASSWORD" PGSSLMODE="$(cat ${CONFIG_DIR}/sslmode)" PGCONNECT_TIMEOUT=5
  # The primary is verified with its server certificate's CA (with a client CA of its own, client/ca.crt is another CA).
  if [ -s /tls/certs/server/ca.crt ]; then export PGSSLROOTCERT=/tls/certs/server/ca.crt; fi
  if [ -s /tls/certs/client/client.crt ]; then export PGSSLCERT=/tls/certs/client/client.crt PGSSLKEY=/tls/certs/client/client.key; fi
  for i in $(seq 1 60); do
    pg_basebackup -h ${db}-0.${governingServiceName(db)}.${ns}.svc -p ${PG_PORT} -U postgres -D "$PGDATA" -X stream && exit 0
    rm -rf "$PGDATA"/*; sleep 2
  done
  exit 1
fi`;

// - fsGroup makes the data directory group-writable at every pod start (emptyDir,
//   most CSI volumes): PostgreSQL refuses to start until it is 0700 again.
// - libpq ignores a passfile its group may read, and Secret files are 0640 with
//   an fsGroup: the standby's walreceiver gets a private 0600 copy.
// - Listen on every address of the pod (port-forward and sidecars dial
//   localhost), unless the pod shares the host's network: a loopback pod IP
//   (the node agent's loopback mode), where '*' would clash with other pods.
const runScript = `set -eu
chmod 0700 ${DATA_DIR}
umask 077; cat ${CONFIG_DIR}/pgpass > ${PASSFILE}; umask 022
case "$POD_IP" in 127.*) listen="$POD_IP" ;; *) listen='*' ;; esac
if [ "\${POD_NAME##*-}" = 0 ]; then conf=primary.conf; rm -f ${DATA_DIR}/standby.signal
else conf=standby.conf; touch ${DATA_DIR}/standby.signal; fi
exec postgres -D ${DATA_DIR} -c config_file=${CONFIG_DIR}/$conf -c listen_addresses="$listen"`;

/** The pod the StatefulSet runs, before the catalog user and the podTemplate (admission checks a podTemplate against it). */
export function postgresPodSpec(i: Pick<PostgresStsInput, 'db' | 'image' | 'authSecret' | 'ephemeral'>): PodSpec {
  const env = [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: i.authSecret, key: 'password' } } },
    { name: 'PGDATA', value: DATA_DIR },
  ];
  // Every TLS directory is a view of the staged secret (validated material only).
  const tlsMount = (name: string, items: [string, string][]) => stagedTlsVolume(i.db.name, name, items);
  const mounts = [
    { name: 'data', mountPath: '/var/pv' },
    { name: 'config', mountPath: CONFIG_DIR },
    { name: 'run', mountPath: SOCKET_DIR },
    { name: 'server-cert', mountPath: '/tls/certs/server' },
    { name: 'client-cert', mountPath: '/tls/certs/client' },
    { name: 'exporter-cert', mountPath: '/tls/certs/exporter' },
  ];
  const volumes: (Record<string, unknown> & { name: string })[] = [
    { name: 'config', secret: { secretName: configSecretName(i.db.name), defaultMode: 0o600 } },
    { name: 'run', emptyDir: {} },
    tlsMount('server-cert', [['server.crt', 'server.crt'], ['server.key', 'server.key'], ['ca.crt', 'ca.crt']]),
    tlsMount('client-cert', [['client.crt', 'client.crt'], ['client.key', 'client.key'], ['client-ca.crt', 'ca.crt']]),
    tlsMount('exporter-cert', [['exporter.crt', 'tls.crt'], ['exporter.key', 'tls.key'], ['ca.crt', 'ca.crt']]),
  ];
  if (i.ephemeral) volumes.push({ name: 'data', emptyDir: {} });
  return {
    terminationGracePeriodSeconds: 30,
    initContainers: [
      { name: 'postgres-init-container', image: i.image, command: ['sh', '-c', initScript(i.db.name, i.db.namespace)], env, volumeMounts: mounts },
    ],
    containers: [
      {
        name: POSTGRES_CONTAINER,
        image: i.image,
        command: ['sh', '-c', runScript],
        env,
        ports: [{ name: 'db', containerPort: PG_PORT, protocol: 'TCP' }],
        volumeMounts: mounts,
        readinessProbe: { tcpSocket: { port: PG_PORT }, periodSeconds: 2, failureThreshold: 3 },
      },
    ],
    volumes,
  };
}

export function buildPostgresStatefulSet(i: PostgresStsInput): object {
  const labels = offshootLabels(i.info, i.db.name);
  return buildStatefulSet({
    info: i.info,
    db: i.db,
    replicas: i.replicas,
    podManagementPolicy: 'OrderedReady',
    mainContainer: POSTGRES_CONTAINER,
    user: i.user,
    podTemplate: i.podTemplate,
    podSpec: postgresPodSpec(i),
    volumeClaimTemplates: i.ephemeral
      ? []
      : [
          {
            metadata: { name: 'data', labels },
            spec: {
              accessModes: ['ReadWriteOnce'],
              resources: { requests: { storage: '1Gi' } },
              ...(i.storage ?? {}),
            },
          },
        ],
  });
}
