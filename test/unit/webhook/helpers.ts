// Fixtures for admission unit tests: the guide manifests and a catalog like the default one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../../../src/util/repo.ts';
import type { AdmissionFacts, CatalogEntry } from '../../../src/webhook/facts.ts';

export function fixture<T>(name: string): T {
  return parse(readFileSync(join(repoRoot(), 'test/e2e/fixtures', name), 'utf8')) as T;
}

export const PG_VERSIONS: CatalogEntry[] = [{ name: '10', version: '10.23' }, { name: '15', version: '15.18' }, { name: '18.3', version: '18.3' }];
export const PB_VERSIONS: CatalogEntry[] = [{ name: '1.18.0', version: '1.18.0' }];
export const PP_VERSIONS: CatalogEntry[] = [{ name: '4.3.5', version: '4.3.5' }];

export const facts = (over: Partial<AdmissionFacts> = {}): AdmissionFacts => ({ operation: 'CREATE', versions: [], ...over });
