// The OCI image config (image-spec config.json) of a built image: what a
// runtime reads to start a container (User, Env, WorkingDir, Entrypoint, Cmd),
// plus labels that record the server versions found inside.
import type { ImageRecipe } from './recipe.ts';

export interface OciContainerConfig {
  User: string;
  Env: string[];
  WorkingDir: string;
  Entrypoint?: string[];
  Cmd?: string[];
  StopSignal?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Labels: Record<string, string>;
}

export interface OciImageConfig {
  created: string;
  architecture: string;
  os: string;
  config: OciContainerConfig;
  /** Filled by an OCI export (the layers exist only there). */
  rootfs: { type: 'layers'; diff_ids: string[] };
}

export const LABEL_PREFIX = 'io.pgtls';
export const versionLabel = (name: string): string => `${LABEL_PREFIX}.version.${name}`;

export interface ConfigInputs {
  digest: string;
  ref: string;
  versions: Record<string, string>;
  created: Date;
}

/** Pure: the config of a recipe's image once its versions are known. */
export function imageConfig(r: ImageRecipe, i: ConfigInputs): OciImageConfig {
  const c = r.config;
  const env = [...c.env];
  for (const [key, probe] of Object.entries(c.envFromVersions ?? {})) {
    const v = i.versions[probe];
    if (v === undefined) throw new Error(`${i.ref}: no version found for ${probe} (needed by ${key})`);
    env.push(`${key}=${v}`);
  }
  const labels: Record<string, string> = {
    'org.opencontainers.image.title': r.repository.split('/').pop() ?? r.repository,
    'org.opencontainers.image.description': r.description,
    'org.opencontainers.image.created': i.created.toISOString(),
    [`${LABEL_PREFIX}.recipe.digest`]: i.digest,
    [`${LABEL_PREFIX}.debian.suite`]: r.suite,
  };
  for (const [name, v] of Object.entries(i.versions)) labels[versionLabel(name)] = v;
  const primary = r.versions[0];
  if (primary && i.versions[primary.name]) labels['org.opencontainers.image.version'] = i.versions[primary.name]!;
  return {
    created: i.created.toISOString(),
    architecture: 'amd64',
    os: 'linux',
    config: {
      User: c.user,
      Env: env,
      WorkingDir: c.workingDir,
      ...(c.entrypoint ? { Entrypoint: c.entrypoint } : {}),
      ...(c.cmd ? { Cmd: c.cmd } : {}),
      ...(c.stopSignal ? { StopSignal: c.stopSignal } : {}),
      ...(c.exposedPorts ? { ExposedPorts: Object.fromEntries(c.exposedPorts.map((p) => [p, {}])) } : {}),
      Labels: labels,
    },
    rootfs: { type: 'layers', diff_ids: [] },
  };
}

/** The versions recorded in a config's labels (name → version). */
export function versionsOf(cfg: OciImageConfig): Record<string, string> {
  const out: Record<string, string> = {};
  const prefix = `${LABEL_PREFIX}.version.`;
  for (const [k, v] of Object.entries(cfg.config.Labels ?? {})) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return out;
}

/** Parses "uid:gid" (numeric, as every pgtls image declares it). */
export function configUser(cfg: OciImageConfig): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(cfg.config.User || '0');
  if (!m) throw new Error(`image user "${cfg.config.User}" is not numeric uid[:gid]`);
  return { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) };
}

/** Extracts the version a probe printed, or explains why it does not fit. */
export function parseProbeVersion(output: string, pattern: string, expect: string): { version: string } | { error: string } {
  const m = new RegExp(pattern, 'm').exec(output);
  if (!m?.[1]) return { error: `no version in output ${JSON.stringify(output.trim().slice(0, 200))}` };
  const v = m[1];
  if (v !== expect && !v.startsWith(`${expect}.`)) return { error: `found version ${v}, the recipe expects ${expect}` };
  return { version: v };
}
