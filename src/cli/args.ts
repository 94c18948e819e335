// commander argument parsers shared by the commands (kept apart from the
// commands' modules so main.ts can load those only when a command runs).
import { InvalidArgumentError } from 'commander';
import type { PodNetworkMode } from '../local/node/agent.ts';

export function intArg(v: string): number {
  const n = Number.parseInt(v, 10);
  if (!Number.isInteger(n) || String(n) !== v.trim()) throw new InvalidArgumentError('must be an integer');
  return n;
}

/** commander parser for --pod-network-mode. */
export function podNetworkModeArg(v: string): PodNetworkMode {
  if (v !== 'auto' && v !== 'loopback' && v !== 'netns') throw new InvalidArgumentError('must be auto, netns or loopback');
  return v;
}

/** commander parser for --secret-sync-delay: seconds, e.g. 0, 1.5, 60. */
export function secondsArg(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || v.trim() === '') throw new InvalidArgumentError('must be a number of seconds ≥ 0');
  return n;
}
