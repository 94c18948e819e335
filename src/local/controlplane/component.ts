// A control-plane process as plain data, in the style of kwok's binary runtime:
// pure builders produce these records, the supervisor starts and stops them.

export interface HealthCheck {
  /** An HTTPS URL on loopback that answers 200 when the component is ready. */
  url: string;
  /** Client certificate/key files, when the endpoint needs authentication. */
  clientCert?: string;
  clientKey?: string;
  /** CA file to verify the endpoint with; absent = self-signed serving cert, not verified. */
  ca?: string;
  /** Ask over this unix socket instead (the URL then gives only the path). */
  socketPath?: string;
}

export interface Component {
  name: string;
  binary: string;
  args: string[];
  env?: Record<string, string>;
  /** Names of components that must be ready before this one starts. */
  links: string[];
  /** Loopback ports it listens on, checked free before start. */
  ports: number[];
  health?: HealthCheck;
  /** Namespace files to enter (nsenter) before exec: the kubelet runtime's node processes. */
  namespaces?: { net?: string; mount?: string };
}
