// Image references as a container runtime reads them: `postgres:15` is
// docker.io/library/postgres:15, `localhost/pgtls/postgres:15` is ours. A
// reference resolves to one of our images only by an exact repository and tag;
// anything else is an error that lists what exists (never a nearby version).

export interface ParsedRef {
  /** Registry host: docker.io when the reference names none. */
  domain: string;
  /** Repository path under the domain (library/ added for docker.io single names). */
  path: string;
  tag: string;
  digest?: string;
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;

export class InvalidRefError extends Error {}

/** Parses and normalizes a reference like the Docker/containerd reference library does. */
export function parseRef(ref: string): ParsedRef {
  const input = ref.trim();
  if (input === '') throw new InvalidRefError('image reference is empty');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new InvalidRefError(`image reference "${input}": invalid digest "${digest}"`);
  }
  let tag = 'latest';
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidRefError(`image reference "${input}": invalid tag "${tag}"`);
  }
  let domain = 'docker.io';
  let path = rest;
  const slash = rest.indexOf('/');
  const first = slash > 0 ? rest.slice(0, slash) : '';
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    domain = first;
    path = rest.slice(slash + 1);
  }
  if (domain === 'index.docker.io') domain = 'docker.io';
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  for (const c of path.split('/')) {
    if (!PATH_COMPONENT.test(c)) throw new InvalidRefError(`image reference "${input}": invalid repository name "${path}" (lower-case letters, digits, separators)`);
  }
  return digest === undefined ? { domain, path, tag } : { domain, path, tag, digest };
}

/** domain/path, the form runtimes store. */
export function repositoryOf(p: ParsedRef): string {
  return `${p.domain}/${p.path}`;
}

/** The fully normalized reference (digest dropped): docker.io/library/postgres:15. */
export function normalizedRef(p: ParsedRef): string {
  return `${repositoryOf(p)}:${p.tag}`;
}

/** The familiar short form: drops docker.io and library/ as `docker images` shows them. */
export function familiarRef(p: ParsedRef): string {
  let repo = repositoryOf(p);
  if (p.domain === 'docker.io') repo = p.path.startsWith('library/') ? p.path.slice('library/'.length) : p.path;
  return `${repo}:${p.tag}`;
}

export interface RefCandidate<T> {
  /** Full repository (e.g. localhost/pgtls/postgres). */
  repository: string;
  tags: string[];
  value: T;
}

export class UnknownImageError extends Error {
  constructor(
    readonly ref: string,
    readonly known: string[],
    detail: string,
  ) {
    super(`image "${ref}" is not an image pgtls builds${detail}. Known images: ${known.join(', ')}. See \`pgtls images\`.`);
    this.name = 'UnknownImageError';
  }
}

/** One line per repository: repo:tag1|tag2 — the known list of the error message. */
export function knownRefs<T>(cands: RefCandidate<T>[]): string[] {
  return cands.map((c) => `${c.repository}:${c.tags.join('|')}`);
}

/**
 * Exact match of repository and tag (after normalization). A digest reference is
 * refused: our digests name recipes, not registry manifests, so a pinned digest
 * could never be honoured.
 */
export function matchRef<T>(ref: string, cands: RefCandidate<T>[]): { ref: string; tag: string; value: T } {
  const p = parseRef(ref);
  const known = knownRefs(cands);
  if (p.digest) throw new UnknownImageError(ref, known, ': digest references are not supported for local images; use a tag');
  const repo = repositoryOf(p);
  const sameRepo = cands.filter((c) => repositoryOf(parseRef(`${c.repository}:x`)) === repo);
  for (const c of sameRepo) {
    if (c.tags.includes(p.tag)) return { ref: `${c.repository}:${p.tag}`, tag: p.tag, value: c.value };
  }
  if (sameRepo.length > 0) {
    const tags = sameRepo.flatMap((c) => c.tags);
    throw new UnknownImageError(ref, known, `: ${repo} has no tag "${p.tag}" (tags: ${tags.join(', ')}; no other version is substituted)`);
  }
  // `pgtls/postgres:15` is docker.io/pgtls/postgres: say which name was meant.
  const near = cands.find((c) => c.repository.endsWith(`/${p.path}`) || c.repository.endsWith(`/${p.path.replace(/^library\//, '')}`));
  const hint = near ? `: ${repo} is not ${near.repository} (did you mean ${near.repository}:${p.tag}?)` : '';
  throw new UnknownImageError(ref, known, hint);
}
