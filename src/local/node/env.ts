// A container's environment, resolved as the kubelet does: service links
// first, then envFrom, then env (later wins), with $(VAR) references expanded
// against what came before. Pure: objects are looked up through callbacks.
import type { V1Container, V1Pod, V1Service } from '@kubernetes/client-node';
import { fieldValue, FieldError } from './downward-api.ts';

export interface EnvSources {
  secret(name: string): Record<string, string> | undefined; // decoded values
  configMap(name: string): Record<string, string> | undefined;
  podIP: string;
  hostIP: string;
  nodeName: string;
  /** The address pods use for a Service (its ClusterIP, or its loopback stand-in). */
  serviceHost(svc: V1Service): string | undefined;
  services: V1Service[];
}

export class EnvError extends Error {
  constructor(message: string) {
    super(message);
  }
}

/** Expands $(VAR) as Kubernetes does: $$ escapes, unknown references stay verbatim. */
export function expand(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return name !== undefined && Object.prototype.hasOwnProperty.call(vars, name) ? vars[name]! : m;
  });
}

const envName = (s: string) => s.toUpperCase().replace(/-/g, '_');

/** The docker-link style variables the kubelet sets for Services of the pod's namespace. */
export function serviceEnv(pod: V1Pod, src: EnvSources): Record<string, string> {
  const out: Record<string, string> = {};
  // The `kubernetes` Service of the default namespace always (in-cluster clients read
  // KUBERNETES_SERVICE_HOST/PORT), the pod's own namespace's Services when links are on.
  const linked = (svc: V1Service) =>
    (svc.metadata?.namespace === 'default' && svc.metadata?.name === 'kubernetes') ||
    (svc.metadata?.namespace === pod.metadata?.namespace && pod.spec?.enableServiceLinks !== false);
  const chosen = new Map<string, V1Service>();
  for (const svc of src.services) {
    if (!linked(svc)) continue;
    const name = svc.metadata!.name!;
    // A Service of the pod's namespace named `kubernetes` does not replace the master one.
    if (!(chosen.has(name) && chosen.get(name)!.metadata?.namespace === 'default' && name === 'kubernetes')) chosen.set(name, svc);
  }
  for (const svc of chosen.values()) {
    const host = src.serviceHost(svc);
    if (!host) continue;
    const ports = svc.spec?.ports ?? [];
    if (ports.length === 0) continue;
    const base = envName(svc.metadata!.name!);
    out[`${base}_SERVICE_HOST`] = host;
    out[`${base}_SERVICE_PORT`] = String(ports[0]!.port);
    for (const p of ports) {
      if (p.name) out[`${base}_SERVICE_PORT_${envName(p.name)}`] = String(p.port);
      const proto = (p.protocol ?? 'TCP').toLowerCase();
      const key = `${base}_PORT_${p.port}_${proto.toUpperCase()}`;
      out[key] = `${proto}://${host}:${p.port}`;
      out[`${key}_PROTO`] = proto;
      out[`${key}_PORT`] = String(p.port);
      out[`${key}_ADDR`] = host;
    }
    out[`${base}_PORT`] = `${(ports[0]!.protocol ?? 'TCP').toLowerCase()}://${host}:${ports[0]!.port}`;
  }
  return out;
}

/** Returns the container's variables in order, or throws EnvError (CreateContainerConfigError). */
export function containerEnv(pod: V1Pod, c: V1Container, src: EnvSources): Record<string, string> {
  const vars: Record<string, string> = { ...serviceEnv(pod, src) };
  for (const from of c.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const data = src.configMap(from.configMapRef.name!);
      if (!data) {
        if (from.configMapRef.optional) continue;
        throw new EnvError(`configmap "${from.configMapRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(data)) vars[prefix + k] = v;
    }
    if (from.secretRef) {
      const data = src.secret(from.secretRef.name!);
      if (!data) {
        if (from.secretRef.optional) continue;
        throw new EnvError(`secret "${from.secretRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(data)) vars[prefix + k] = v;
    }
  }
  for (const e of c.env ?? []) {
    if (e.valueFrom === undefined) {
      vars[e.name] = expand(e.value ?? '', vars);
      continue;
    }
    const vf = e.valueFrom;
    if (vf.fieldRef) {
      const path = vf.fieldRef.fieldPath;
      if (/^metadata\.(labels|annotations)$/.test(path)) throw new EnvError(`unsupported fieldRef ${path} in env ${e.name}`);
      try {
        vars[e.name] = fieldValue(pod, path, src);
      } catch (err) {
        if (err instanceof FieldError) throw new EnvError(`${err.message} in env ${e.name}`);
        throw err;
      }
    } else if (vf.secretKeyRef) {
      const ref = vf.secretKeyRef;
      const v = src.secret(ref.name!)?.[ref.key];
      if (v === undefined) {
        if (ref.optional) continue;
        throw new EnvError(`couldn't find key ${ref.key} in Secret ${pod.metadata?.namespace}/${ref.name}`);
      }
      vars[e.name] = v;
    } else if (vf.configMapKeyRef) {
      const ref = vf.configMapKeyRef;
      const v = src.configMap(ref.name!)?.[ref.key];
      if (v === undefined) {
        if (ref.optional) continue;
        throw new EnvError(`couldn't find key ${ref.key} in ConfigMap ${pod.metadata?.namespace}/${ref.name}`);
      }
      vars[e.name] = v;
    } else if (vf.resourceFieldRef) {
      // No cgroup limits here: report the declared value, or 0 as "unlimited".
      const r = vf.resourceFieldRef.resource;
      const [kind, res] = r.split('.') as [string, string];
      const q = (kind === 'limits' ? c.resources?.limits : c.resources?.requests)?.[res];
      vars[e.name] = q !== undefined ? String(q) : '0';
    }
  }
  return vars;
}

/** The command line, with Docker's rules: command replaces ENTRYPOINT (and CMD), args replace CMD. */
export function commandLine(c: V1Container, image: { entrypoint?: string[]; cmd?: string[] }, vars: Record<string, string>): string[] | undefined {
  const argv =
    c.command && c.command.length > 0
      ? [...c.command, ...(c.args ?? [])]
      : [...(image.entrypoint ?? []), ...(c.args && c.args.length > 0 ? c.args : (image.cmd ?? []))];
  return argv.length > 0 ? argv.map((a) => expand(a, vars)) : undefined;
}
