// The operations settings (shutdown, metrics port, queue dashboard, audit sink and retention), read with the rest of
// the configuration by readConfig: same rules — a bad value is a problem naming the setting with an example.
import { parseDuration } from '../core/durations.js';
import { settingsReader } from './settings.js';

export interface OpsConfig {
  /** On SIGTERM, how long running jobs get to reach a safe point before the process exits anyway (code 1). Default 25s. */
  shutdownTimeoutMs: number;
  /** Port serving /metrics (and the queue dashboard) apart from Teams' traffic; null = the bot's own port. Default null. */
  metricsPort: number | null;
  /** Bull Board at /queues behind HTTP basic auth; null = not mounted (the default). */
  queueDashboard: { user: string; password: string } | null;
  audit: {
    /** Where each audit entry is also written as one JSON line for a SIEM. Default stdout. */
    sink: { kind: 'stdout' } | { kind: 'file'; path: string } | { kind: 'off' };
    /** How long audit entries stay in Redis (per-request lists after the request ends, and the global stream). Default 90d. */
    retentionMs: number;
  };
}

export const OPS_SETTINGS = {
  SHUTDOWN_TIMEOUT: { default: '25s', example: '25s' },
  METRICS_PORT: { default: '', example: '9464' },
  QUEUE_DASHBOARD_USER: { default: 'ops', example: 'ops' },
  QUEUE_DASHBOARD_PASSWORD: { default: '', example: '<at least 24 random characters>' },
  AUDIT_SINK: { default: 'stdout', example: 'file:/var/log/lr-bot/audit.jsonl' },
  AUDIT_RETENTION: { default: '90d', example: '365d' },
} as const;

/** A dashboard that can see every request's ids must not be guarded by a guessable password. */
const MIN_DASHBOARD_PASSWORD_LENGTH = 24;

export function readOpsConfig(env: NodeJS.ProcessEnv, problems: string[]): OpsConfig {
  const { get, bad } = settingsReader(OPS_SETTINGS, env, problems);

  const shutdownTimeoutMs = parseDuration(get('SHUTDOWN_TIMEOUT'));
  if (shutdownTimeoutMs === null)
    bad('SHUTDOWN_TIMEOUT', `must be a duration like 10s or 1m (got "${get('SHUTDOWN_TIMEOUT')}")`);

  let metricsPort: number | null = null;
  if (get('METRICS_PORT')) {
    metricsPort = Number(get('METRICS_PORT'));
    if (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)
      bad('METRICS_PORT', `must be a port number from 0 to 65535 (got "${get('METRICS_PORT')}")`);
  }

  const password = get('QUEUE_DASHBOARD_PASSWORD');
  if (password && password.length < MIN_DASHBOARD_PASSWORD_LENGTH)
    bad(
      'QUEUE_DASHBOARD_PASSWORD',
      `must be at least ${MIN_DASHBOARD_PASSWORD_LENGTH} characters (it guards every request's queue entries)`,
    );
  const user = get('QUEUE_DASHBOARD_USER');
  if (!/^[^:\s]{1,64}$/.test(user)) bad('QUEUE_DASHBOARD_USER', 'must be a user name without spaces or ":"');

  const sinkText = get('AUDIT_SINK');
  let sink: OpsConfig['audit']['sink'] = { kind: 'stdout' };
  if (sinkText === 'off') sink = { kind: 'off' };
  else if (sinkText.startsWith('file:') && sinkText.length > 'file:'.length)
    sink = { kind: 'file', path: sinkText.slice('file:'.length) };
  else if (sinkText !== 'stdout') bad('AUDIT_SINK', `must be stdout, file:<path> or off (got "${sinkText}")`);

  const retentionMs = parseDuration(get('AUDIT_RETENTION'));
  if (retentionMs === null)
    bad('AUDIT_RETENTION', `must be a duration like 30d or 365d (got "${get('AUDIT_RETENTION')}")`);

  return {
    shutdownTimeoutMs: shutdownTimeoutMs ?? 25_000,
    metricsPort,
    queueDashboard: password ? { user, password } : null,
    audit: { sink, retentionMs: retentionMs ?? 90 * 86_400_000 },
  };
}
