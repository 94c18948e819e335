// A database's pod as KubeDB makes it: the catalog version's user
// (`<Kind>Version.spec.securityContext`), hardened the way Pod Security
// `restricted` asks (non-root, no privilege escalation, no capabilities,
// RuntimeDefault seccomp), then the manifest's `spec.podTemplate` on top.
// Pure: the StatefulSet builder calls it with the kind's own pod spec.

/** The uid/gid the server runs as, from the catalog (KubeDB: runAsUser; the group follows it). */
export interface VersionUser {
  runAsUser: number;
  runAsGroup: number;
}

/** Reads `spec.securityContext` of a catalog version; `fallback` when the version names no user. */
export function versionUser(securityContext: unknown, fallback: number): VersionUser {
  const sc = (securityContext ?? {}) as { runAsUser?: unknown; runAsGroup?: unknown };
  const uid = typeof sc.runAsUser === 'number' && Number.isInteger(sc.runAsUser) && sc.runAsUser > 0 ? sc.runAsUser : fallback;
  const gid = typeof sc.runAsGroup === 'number' && Number.isInteger(sc.runAsGroup) && sc.runAsGroup > 0 ? sc.runAsGroup : uid;
  return { runAsUser: uid, runAsGroup: gid };
}

/** The pod-level defaults: the version's user, its group as fsGroup (so Secret files are group-readable), non-root, RuntimeDefault. */
export function defaultPodSecurityContext(u: VersionUser): Record<string, unknown> {
  return {
    runAsUser: u.runAsUser,
    runAsGroup: u.runAsGroup,
    fsGroup: u.runAsGroup,
    runAsNonRoot: true,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Every container's defaults (Pod Security `restricted` checks these per container). */
export function defaultContainerSecurityContext(): Record<string, unknown> {
  return {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    runAsNonRoot: true,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** A podTemplate the operator cannot apply, worded as Kubernetes' field.Error (the webhook returns it as one). */
export class PodTemplateError extends Error {
  constructor(
    readonly type: 'Required' | 'Invalid' | 'Forbidden',
    readonly field: string,
    readonly detail: string,
    readonly value?: unknown,
  ) {
    const body = type === 'Required' ? 'Required value' : type === 'Forbidden' ? 'Forbidden' : `Invalid value: ${JSON.stringify(value ?? null)}`;
    super(`${field}: ${body}${detail ? `: ${detail}` : ''}`);
  }
}

type Obj = Record<string, unknown>;
interface Container extends Obj {
  name: string;
  env?: (Obj & { name: string })[];
  volumeMounts?: Obj[];
}
export interface PodSpec extends Obj {
  containers: Container[];
  initContainers?: Container[];
  volumes?: (Obj & { name: string })[];
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function objectAt(v: unknown, field: string): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw new PodTemplateError('Invalid', field, 'must be an object', v);
  return v;
}

function listAt(v: unknown, field: string): Obj[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new PodTemplateError('Invalid', field, 'must be a list', v);
  return v.map((e, i) => {
    if (!isObj(e)) throw new PodTemplateError('Invalid', `${field}[${i}]`, 'must be an object', e);
    return e;
  });
}

function namedList(v: unknown, field: string): Container[] {
  return listAt(v, field).map((e, i) => {
    if (typeof e.name !== 'string' || e.name === '') throw new PodTemplateError('Required', `${field}[${i}].name`, '');
    return e as Container;
  });
}

function stringMap(v: unknown, field: string): Record<string, string> {
  const o = objectAt(v, field) ?? {};
  for (const [k, val] of Object.entries(o)) if (typeof val !== 'string') throw new PodTemplateError('Invalid', `${field}.${k}`, 'must be a string', val);
  return o as Record<string, string>;
}

/** Pod-level fields a podTemplate may set, copied as given (KubeDB's list). */
const POD_FIELDS = [
  'nodeSelector',
  'tolerations',
  'affinity',
  'topologySpreadConstraints',
  'priorityClassName',
  'priority',
  'schedulerName',
  'serviceAccountName',
  'imagePullSecrets',
  'runtimeClassName',
  'dnsPolicy',
  'dnsConfig',
  'enableServiceLinks',
  'shareProcessNamespace',
  'terminationGracePeriodSeconds',
] as const;

export interface PodTemplateInput {
  /** The kind's pod spec (our containers, volumes, probes). */
  podSpec: PodSpec;
  /** The server's container: `kubectl exec` defaults to it; the legacy podTemplate.spec.resources/env go to it. */
  mainContainer: string;
  user: VersionUser;
  /** Labels the pods must carry (the selector's): they win over the template's. */
  labels: Record<string, string>;
  /** `spec.podTemplate` of the manifest, as stored. */
  template?: unknown;
}

export interface AppliedPodTemplate {
  /** Pod template metadata. */
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  spec: PodSpec;
  /** `podTemplate.controller`: labels and annotations for the StatefulSet itself. */
  controller: { labels: Record<string, string>; annotations: Record<string, string> };
}

/**
 * Our pod, hardened, with the manifest's podTemplate applied as KubeDB applies
 * it: pod fields copied, the pod securityContext's fields over ours, each of
 * our containers merged with the template's container of the same name
 * (resources, securityContext fields, env added, volumeMounts added), other
 * template containers added as sidecars, template volumes added. Our own
 * environment variables, volumes and mounts keep their values (the server
 * needs them); a name clash with them is an error naming the field.
 */
export function applyPodTemplate(i: PodTemplateInput): AppliedPodTemplate {
  const t = objectAt(i.template, 'spec.podTemplate') ?? {};
  const meta = objectAt(t.metadata, 'spec.podTemplate.metadata') ?? {};
  const ctl = objectAt(t.controller, 'spec.podTemplate.controller') ?? {};
  const ts = objectAt(t.spec, 'spec.podTemplate.spec') ?? {};
  const field = (f: string) => `spec.podTemplate.spec.${f}`;

  const spec: PodSpec = { ...i.podSpec };
  for (const f of POD_FIELDS) if (ts[f] !== undefined) spec[f] = ts[f];
  spec.securityContext = { ...defaultPodSecurityContext(i.user), ...(objectAt(ts.securityContext, field('securityContext')) ?? {}) };

  const tplContainers = namedList(ts.containers, field('containers'));
  const tplInit = namedList(ts.initContainers, field('initContainers'));
  const legacy = {
    resources: objectAt(ts.resources, field('resources')),
    env: namedList(ts.env, field('env')),
    securityContext: objectAt(ts.containerSecurityContext, field('containerSecurityContext')),
  };
  const merge = (ours: Container[], theirs: Container[], what: string): Container[] => {
    const mine = new Set(ours.map((c) => c.name));
    const merged = ours.map((c) => {
      const idx = theirs.findIndex((x) => x.name === c.name);
      const u = idx >= 0 ? theirs[idx]! : undefined;
      const at = (f: string) => field(`${what}[${idx}].${f}`);
      const main = c.name === i.mainContainer && what === 'containers';
      const ownEnv = new Set((c.env ?? []).map((e) => e.name));
      const checked = (env: Container[], f: string) => {
        for (const e of env) if (ownEnv.has(e.name)) throw new PodTemplateError('Forbidden', f, `${e.name} is set by the operator for the ${c.name} container`);
        return env;
      };
      const extraEnv = [...(main ? checked(legacy.env, field('env')) : []), ...checked(namedList(u?.env, at('env')), at('env'))];
      const extraMounts = listAt(u?.volumeMounts, at('volumeMounts'));
      const ownPaths = new Set((c.volumeMounts ?? []).map((m) => m.mountPath));
      for (const m of extraMounts) if (ownPaths.has(m.mountPath)) throw new PodTemplateError('Forbidden', at('volumeMounts'), `${String(m.mountPath)} is mounted by the operator`);
      const resources = objectAt(u?.resources, at('resources')) ?? (main ? legacy.resources : undefined);
      return {
        ...c,
        ...(resources ? { resources } : {}),
        ...(extraEnv.length || c.env ? { env: [...(c.env ?? []), ...extraEnv] } : {}),
        ...(extraMounts.length || c.volumeMounts ? { volumeMounts: [...(c.volumeMounts ?? []), ...extraMounts] } : {}),
        securityContext: {
          ...defaultContainerSecurityContext(),
          ...(main ? legacy.securityContext : {}),
          ...(objectAt(u?.securityContext, at('securityContext')) ?? {}),
        },
      };
    });
    // Sidecars (and extra init containers) are the user's: added as given.
    return [...merged, ...theirs.filter((x) => !mine.has(x.name))];
  };
  spec.containers = merge(i.podSpec.containers, tplContainers, 'containers');
  if (i.podSpec.initContainers || tplInit.length) spec.initContainers = merge(i.podSpec.initContainers ?? [], tplInit, 'initContainers');

  const tplVolumes = namedList(ts.volumes, field('volumes'));
  if (tplVolumes.length) {
    const own = new Set((i.podSpec.volumes ?? []).map((v) => v.name));
    for (const v of tplVolumes) if (own.has(v.name)) throw new PodTemplateError('Forbidden', field('volumes'), `volume ${v.name} is the operator's`);
    spec.volumes = [...(i.podSpec.volumes ?? []), ...tplVolumes];
  }

  return {
    metadata: {
      labels: { ...stringMap(meta.labels, 'spec.podTemplate.metadata.labels'), ...i.labels },
      annotations: { 'kubectl.kubernetes.io/default-container': i.mainContainer, ...stringMap(meta.annotations, 'spec.podTemplate.metadata.annotations') },
    },
    spec,
    controller: {
      labels: stringMap(ctl.labels, 'spec.podTemplate.controller.labels'),
      annotations: stringMap(ctl.annotations, 'spec.podTemplate.controller.annotations'),
    },
  };
}

/** Admission's check: the field error a podTemplate would meet when applied to this pod, if any. */
export function podTemplateError(podSpec: PodSpec, mainContainer: string, template: unknown): PodTemplateError | undefined {
  try {
    applyPodTemplate({ podSpec, mainContainer, user: { runAsUser: 1, runAsGroup: 1 }, labels: {}, template });
    return undefined;
  } catch (err) {
    if (err instanceof PodTemplateError) return err;
    throw err;
  }
}
