// The ops types this ops-manager runs, listed explicitly. A new type (Restart,
// VerticalScaling, UpdateVersion): one module implementing OpsType, one entry here.
import type { OpsType } from './ops-type.ts';
import { reconfigureTls } from './reconfigure-tls/index.ts';

export const OPS_TYPES: readonly OpsType[] = [reconfigureTls];
