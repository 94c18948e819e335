// The Pod Security Standard `restricted` (policy version latest, Kubernetes
// 1.34), as its checks read a pod spec: unit tests use it on the operator's
// pod templates; the e2e test lets the API server itself enforce it.
type Obj = Record<string, unknown>;
interface Container extends Obj {
  name: string;
  securityContext?: Obj & { capabilities?: { add?: string[]; drop?: string[] } };
  ports?: { hostPort?: number }[];
}

const ALLOWED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

/** Each violation as `field: reason`; empty when a restricted namespace admits the pod. */
export function restrictedViolations(spec: Obj & { containers: Container[]; initContainers?: Container[]; volumes?: Obj[] }): string[] {
  const out: string[] = [];
  const psc = (spec.securityContext ?? {}) as Obj & { seccompProfile?: { type?: string }; runAsNonRoot?: boolean; runAsUser?: number };
  const all = [...(spec.initContainers ?? []), ...spec.containers];
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) out.push('host namespaces');
  for (const v of spec.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (!type || !ALLOWED_VOLUMES.includes(type)) out.push(`volume ${String(v.name)}: type ${type} not allowed`);
  }
  if (psc.runAsUser === 0) out.push('pod runAsUser 0');
  for (const c of all) {
    const sc = c.securityContext ?? {};
    if (sc.privileged) out.push(`${c.name}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${c.name}: allowPrivilegeEscalation != false`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push(`${c.name}: capabilities.drop must include ALL`);
    for (const a of sc.capabilities?.add ?? []) if (a !== 'NET_BIND_SERVICE') out.push(`${c.name}: capability ${a} added`);
    const nonRoot = (sc.runAsNonRoot as boolean | undefined) ?? psc.runAsNonRoot;
    if (nonRoot !== true) out.push(`${c.name}: runAsNonRoot != true`);
    if (sc.runAsUser === 0) out.push(`${c.name}: runAsUser 0`);
    const seccomp = (sc.seccompProfile as { type?: string } | undefined)?.type ?? psc.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') out.push(`${c.name}: seccompProfile must be RuntimeDefault or Localhost`);
    for (const p of c.ports ?? []) if (p.hostPort) out.push(`${c.name}: hostPort`);
  }
  return out;
}
