// What the supervisor knows about each component, kept in the home so that
// `pgtls status` (a fresh process) can show restarts and the last exit.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Component } from './component.ts';

export interface ExitRecord {
  /** ISO time the exit was seen. */
  at: string;
  /** Exit code, or null when a signal ended it or the exit was seen without a status. */
  code: number | null;
  signal: string | null;
  /** How long that process ran. */
  ranMs: number;
  /** It exited before it answered its health check (a failed start). */
  duringStart: boolean;
  /** Last lines of its log at the time. */
  logTail: string[];
}

export type SupervisedState =
  /** Spawned, waiting for its health check (a gated start). */
  | 'starting'
  | 'running'
  /** Exited; restarts at nextStartAt. */
  | 'backoff'
  /** A gated start ran out of attempts: not restarted until the next `up`. */
  | 'failed'
  /** The supervisor stopped (by `down`): nothing restarts it. */
  | 'stopped';

export interface SupervisedRecord {
  name: string;
  state: SupervisedState;
  pid?: number;
  /** ISO time the current process started. */
  startedAt?: string;
  /** Exits seen since the last `up` started it (failed starts included). */
  restarts: number;
  /** Consecutive failures: the back-off step. */
  failures: number;
  nextStartAt?: string;
  lastExit?: ExitRecord;
  /** The record the supervisor restarts, exactly as `up` started it. */
  component: Component;
}

export const recordsDir = (home: string) => join(home, 'supervisor');

export function recordFile(home: string, name: string): string {
  return join(recordsDir(home), `${name}.json`);
}

export function writeRecord(home: string, rec: SupervisedRecord): void {
  mkdirSync(recordsDir(home), { recursive: true, mode: 0o700 });
  const file = recordFile(home, rec.name);
  // Write-then-rename: a reader never sees half a record.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

export function readRecord(home: string, name: string): SupervisedRecord | undefined {
  const file = recordFile(home, name);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SupervisedRecord;
  } catch {
    return undefined;
  }
}

export function readRecords(home: string): SupervisedRecord[] {
  const dir = recordsDir(home);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => readRecord(home, f.slice(0, -'.json'.length)))
    .filter((r): r is SupervisedRecord => r !== undefined);
}

/** "exit code 2", "signal SIGKILL", or "exited (status unknown)" for a process we did not start. */
export function describeExit(e: Pick<ExitRecord, 'code' | 'signal'>): string {
  if (e.signal) return `signal ${e.signal}`;
  if (e.code !== null) return `exit code ${e.code}`;
  return 'exited (status unknown: not started by this supervisor)';
}
