// Output formats shared by the plugin's commands: kubectl-style tables (upper-case
// headers, columns padded with three spaces) by default, or the model as JSON/YAML.
import { stringify } from 'yaml';
import { PluginError } from './errors.ts';

export type OutputFormat = 'table' | 'json' | 'yaml';

export function parseOutput(v: string | undefined): OutputFormat {
  if (v === undefined || v === 'table' || v === 'wide') return 'table';
  if (v === 'json' || v === 'yaml') return v;
  throw new PluginError(`-o ${v}: allowed values are table, json, yaml`, 2);
}

/** Columns padded like kubectl's printer; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('   ').trimEnd())
    .join('\n');
}

export function serialize(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value, { lineWidth: 0 });
}

/** "2027-02-27 18:55:17Z": exact, sortable, and shorter than toISOString's milliseconds. */
export function fmtTime(d: Date | string | undefined): string {
  if (!d) return '-';
  const date = typeof d === 'string' ? new Date(d) : d;
  if (Number.isNaN(date.getTime())) return '-';
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

export function fmtMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** Node prints distinguished names one attribute per line; tables want one line. */
export function oneLineDn(dn: string): string {
  return dn.split('\n').filter(Boolean).join(', ');
}
