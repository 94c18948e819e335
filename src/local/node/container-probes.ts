// The probe loops of one running container: startup first, then liveness and
// readiness, each on its period with its thresholds, as the kubelet's prober
// workers. A failed liveness or startup probe restarts the container.
import type { V1Pod, V1Probe } from '@kubernetes/client-node';
import type { Clock } from './clock.ts';
import type { ContainerRun } from './container-process.ts';
import { runProbe, type Dial, type Exec } from './probes.ts';

export interface ProbeHost {
  clock: Clock;
  pod(): V1Pod;
  ip(): string;
  stopped(): boolean;
  exec(c: ContainerRun): Exec;
  dial: Dial;
  /** Readiness or startedness changed. */
  changed(): void;
  /** The container failed its liveness/startup probe. */
  restart(c: ContainerRun, message: string): void;
}

type Kind = 'startup' | 'liveness' | 'readiness';

export function startProbes(c: ContainerRun, host: ProbeHost): void {
  const probes: [V1Probe | undefined, Kind][] = [
    [c.spec.startupProbe, 'startup'],
    [c.spec.livenessProbe, 'liveness'],
    [c.spec.readinessProbe, 'readiness'],
  ];
  if (!c.spec.readinessProbe) c.ready = c.started;
  for (const [probe, kind] of probes) if (probe) loop(c, probe, kind, host);
}

function loop(c: ContainerRun, probe: V1Probe, kind: Kind, host: ProbeHost): void {
  const pid = c.pid;
  let fails = 0;
  let oks = 0;
  const period = (probe.periodSeconds ?? 10) * 1000;
  const again = (ms: number) => c.timers.push(host.clock.setTimeout(() => void tick(), ms));
  const tick = async () => {
    if (c.pid !== pid || host.stopped()) return;
    if (kind !== 'startup' && !c.started) return again(Math.min(period, 1000));
    if (kind === 'startup' && c.started) return;
    const r = await runProbe(probe, host.pod(), host.ip(), host.exec(c), host.dial);
    if (c.pid !== pid) return;
    if (r.ok) {
      oks++;
      fails = 0;
    } else {
      fails++;
      oks = 0;
    }
    if (kind === 'readiness') {
      const ready = r.ok ? oks >= (probe.successThreshold ?? 1) || c.ready : fails < (probe.failureThreshold ?? 3) && c.ready;
      if (ready !== c.ready) {
        c.ready = ready;
        host.changed();
      }
    } else if (kind === 'startup' && r.ok) {
      c.started = true;
      if (!c.spec.readinessProbe) c.ready = true;
      host.changed();
      return;
    } else if (!r.ok && fails >= (probe.failureThreshold ?? 3)) {
      host.restart(c, `container ${c.name} failed ${kind} probe, will be restarted: ${r.message}`);
      return;
    }
    again(period);
  };
  again((probe.initialDelaySeconds ?? 0) * 1000);
}
