// The PgBouncer StatefulSet. As for Postgres, the pod template does not depend
// on TLS: every certificate secret is mounted (optional) where KubeDB puts it,
// the backend CA and the ini come from the config secret, so TLS changes are
// file changes that a RELOAD applies. updateStrategy OnDelete: restarts are
// the operator's decision.
import { buildStatefulSet } from '../specs/statefulset.ts';
import { KUBEDB_PGBOUNCER_PATHS, PGBOUNCER_FILES } from '../../engines/pgbouncer/index.ts';
import type { KindInfo } from '../../kinds/info.ts';
import type { DbRef } from '../specs/owner.ts';
import { configSecretName } from '../specs/secrets.ts';
import { BACKEND_CA_KEY, PGBOUNCER_LISTEN_INI, PGBOUNCER_PID_FILE, PGBOUNCER_RUN_DIR } from './config.ts';
import { stagedTlsVolume } from '../specs/tls-staging.ts';

export interface PgBouncerStsInput {
  info: KindInfo;
  db: DbRef;
  image: string;
  replicas: number;
  port: number;
}

const SERVING_DIR = '/var/run/pgbouncer/tls/serving';
const BACKEND_DIR = '/var/run/pgbouncer/tls/backend';
const MOUNTED_INI = `${KUBEDB_PGBOUNCER_PATHS.configDir}/${PGBOUNCER_FILES.ini}`;

// pgbouncer.ini cannot read the environment, and listening on 0.0.0.0 would
// share the host's port space on the local node: the mounted ini includes a
// one-line file with the pod IP, written here. PgBouncer runs on the mounted
// file itself, so RELOAD re-reads what the operator rendered.
// The pid (the shell's, which exec hands to pgbouncer) lets a reload signal
// exactly this server, with no credentials, in any pid namespace. `$$$$`:
// Kubernetes turns `$$` in a command into `$`.
const runScript = `set -eu
echo "listen_addr = $POD_IP" > ${PGBOUNCER_LISTEN_INI}
echo $$$$ > ${PGBOUNCER_PID_FILE}
exec pgbouncer ${MOUNTED_INI}`;

export function buildPgBouncerStatefulSet(i: PgBouncerStsInput): object {
  // Views of the staged secret <db>-tls-certs (checked material only).
  const certVolume = (name: string, items: [string, string][]) => stagedTlsVolume(i.db.name, name, items);
  const volumes = [
    { name: 'config', secret: { secretName: configSecretName(i.db.name), defaultMode: 0o600 } },
    { name: 'backend-ca', secret: { secretName: configSecretName(i.db.name), defaultMode: 0o600, items: [{ key: BACKEND_CA_KEY, path: 'ca.crt' }] } },
    { name: 'run', emptyDir: {} },
    certVolume('serving-server', [['server.crt', 'tls.crt'], ['server.key', 'tls.key'], ['ca.crt', 'ca.crt']]),
    certVolume('serving-client', [['client.crt', 'tls.crt'], ['client.key', 'tls.key'], ['client-ca.crt', 'ca.crt']]),
    certVolume('serving-exporter', [['exporter.crt', 'tls.crt'], ['exporter.key', 'tls.key'], ['ca.crt', 'ca.crt']]),
  ];
  const mounts = [
    { name: 'config', mountPath: KUBEDB_PGBOUNCER_PATHS.configDir },
    { name: 'backend-ca', mountPath: BACKEND_DIR },
    { name: 'run', mountPath: PGBOUNCER_RUN_DIR },
    { name: 'serving-server', mountPath: `${SERVING_DIR}/server` },
    { name: 'serving-client', mountPath: `${SERVING_DIR}/client` },
    { name: 'serving-exporter', mountPath: `${SERVING_DIR}/metrics-exporter` },
  ];
  return buildStatefulSet({
    info: i.info,
    db: i.db,
    replicas: i.replicas,
    podManagementPolicy: 'Parallel',
    podSpec: {
      terminationGracePeriodSeconds: 10,
      containers: [
        {
          name: 'pgbouncer',
          image: i.image,
          command: ['sh', '-c', runScript],
          env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
          ports: [{ name: 'pgbouncer', containerPort: i.port, protocol: 'TCP' }],
          volumeMounts: mounts,
          readinessProbe: { tcpSocket: { port: i.port }, periodSeconds: 2, failureThreshold: 3 },
        },
      ],
      volumes,
    },
  });
}
