// Every database kind the operator serves, listed explicitly (no registration
// by import side effect). A new kind: one module in this folder, one entry here.
import type { DbObject } from '../api/objects.ts';
import { pgbouncer } from './pgbouncer.ts';
import { pgpool } from './pgpool.ts';
import { postgres } from './postgres.ts';
import type { Kind } from './types.ts';

export type { Kind, KindModule } from './types.ts';
export type { KindInfo } from './info.ts';

export const KINDS: readonly Kind[] = [postgres, pgbouncer, pgpool];

export { postgres, pgbouncer, pgpool };

/** The kind of a database object or name; undefined for kinds the operator does not serve. */
export function kindOf(kindOrObject: string | DbObject): Kind | undefined {
  const name = typeof kindOrObject === 'string' ? kindOrObject : kindOrObject.kind;
  return KINDS.find((k) => k.info.kind === name);
}

/** The kind whose ops request is `opsKind` (PostgresOpsRequest → Postgres). */
export function kindOfOps(opsKind: string): Kind | undefined {
  return KINDS.find((k) => k.info.opsKind === opsKind);
}
