// The relay's configuration: an optional JSON file (EARSHOT_CONFIG) overlaid by environment variables,
// validated with zod. An invalid config refuses to start with a message naming each bad key.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DEFAULT_MODEL, PROVIDER_MAX_SESSION_MS } from '../../../protocol/constants.ts';
import { CLIENT_EVENT_TYPES, isProviderVoice, PROVIDER_VOICES } from '../../../protocol/realtime.ts';
import { HEARTBEAT_MS, LINK_DEAD_MS } from '../../../protocol/app-link.ts';
import { TrustedProxies } from '../http/client-address.ts';

const turnDetection = z.union([
  z.null(),
  z.object({
    type: z.literal('server_vad'),
    threshold: z.number().min(0).max(1).default(0.5),
    prefix_padding_ms: z.number().int().min(0).default(300),
    silence_duration_ms: z.number().int().min(0).default(500),
    create_response: z.boolean().default(true),
    interrupt_response: z.boolean().default(true),
  }),
  z.object({ type: z.literal('semantic_vad'), eagerness: z.enum(['low', 'medium', 'high', 'auto']).default('auto') }),
]);

/** A voice the provider has: anything else would reach every session and be refused there. */
const providerVoice = z.string().refine((v: string): boolean => isProviderVoice(v), { message: `must be one of the provider's voices: ${PROVIDER_VOICES.join(', ')}` });

export const policySchema = z.object({
  /** Sent upstream as the first `session.update`, before any client frame. */
  instructions: z.string().default('You are Earshot, a friendly voice assistant. Keep answers short and conversational.'),
  voice: providerVoice.default('marin'),
  /** Voices a client may pick when `audio.output.voice` is mutable: the provider's own (protocol/realtime.ts). */
  voices: z.array(providerVoice).min(1).default((): string[] => [...PROVIDER_VOICES]),
  transcriptionModel: z.string().nullable().default('gpt-4o-mini-transcribe'),
  turnDetection: turnDetection.default({ type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500, create_response: true, interrupt_response: true }),
  noiseReduction: z.enum(['near_field', 'far_field']).nullable().default(null),
  /**
   * Dotted `session` paths a client may set with `session.update`; everything else is locked. Agents bring their own
   * instructions, voice and tools, and break without them (issue 13); `tools`, `tool_choice` and the speaking speed
   * cost the operator nothing the quotas do not already meter. The model, token caps, prompts and truncation stay locked.
   */
  clientMutableFields: z
    .array(z.string())
    .default([
      'type',
      'audio.output.voice',
      'audio.output.speed',
      'instructions',
      'audio.input.turn_detection',
      'audio.input.noise_reduction',
      'audio.input.transcription',
      'output_modalities',
      'tools',
      'tool_choice',
    ]),
  /** Refuse a whole `session.update` that tries to change a locked field, instead of dropping just that field. */
  strictSessionUpdate: z.boolean().default(false),
  /** Client event types forwarded upstream. Open strings, so a GA event newer than the installed types can be listed. */
  allowedClientEvents: z.array(z.string().min(1)).default([...CLIENT_EVENT_TYPES]),
});

export const configSchema = z.object({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  /** How long to keep retrying a busy port at startup (a restart waits out the old process's TIME_WAIT). */
  listenRetrySeconds: z.number().int().min(0).default(90),
  publicUrl: z.string().url().optional(),
  dataDir: z.string().default('./data'),
  /** Where users, tokens and usage live: unset = SQLite `earshot.db` in dataDir; `postgres://…` = a PostgreSQL shared by a fleet (store/open-store.ts). */
  databaseUrl: z.string().optional(),
  staticDir: z.string().default('dist/client'),
  tlsCert: z.string().optional(),
  tlsKey: z.string().optional(),
  /** Without a key the relay runs the in-process simulator (unless upstreamUrl points elsewhere). */
  openaiApiKey: z.string().optional(),
  /** Provider endpoint. Unset with no key → in-process simulator; set without a key → e.g. a standalone simulator. */
  upstreamUrl: z.string().url().optional(),
  /** `authorization` sends `Bearer <key>` (OpenAI); `api-key` sends the bare key (Azure). */
  upstreamAuthHeader: z.enum(['authorization', 'api-key']).default('authorization'),
  upstreamConnectTimeoutMs: z.number().int().min(100).default(10_000),
  model: z.string().default(DEFAULT_MODEL),
  /** Models a client may name with `?model=`; empty = only `model`. `model` itself is always allowed. */
  allowedModels: z.array(z.string().min(1)).default([]),
  allowedOrigins: z.array(z.string()).default([]),
  /** Proxies (addresses, CIDR ranges) whose X-Forwarded-For / Forwarded is believed; none by default. */
  trustedProxies: z.array(z.string()).default([]),
  /** Bearer token for /metrics on the main port; without it (and without metricsPort) /metrics is off. */
  metricsToken: z.string().min(16).optional(),
  /** A separate listener for /metrics only (never forwarded by the proxy). */
  metricsHost: z.string().default('127.0.0.1'),
  metricsPort: z.number().int().min(0).max(65535).optional(),
  limits: z
    .object({
      maxFrameBytes: z.number().int().min(1024).default(1024 * 1024),
      /** Any client event but a plain audio append; larger ones are refused unparsed (`event_too_large`). */
      maxEventBytes: z.number().int().min(1024).default(64 * 1024),
      maxMessagesPerSecond: z.number().int().min(1).default(200),
      /** Bytes queued toward a client before the upstream is paused / the session is closed. */
      clientBufferSoftBytes: z.number().int().min(1024).default(1024 * 1024),
      clientBufferHardBytes: z.number().int().min(1024).default(16 * 1024 * 1024),
      /** Bytes queued toward the upstream before the session is closed. */
      upstreamBufferHardBytes: z.number().int().min(1024).default(16 * 1024 * 1024),
      maxSessionMs: z.number().int().min(1000).default(PROVIDER_MAX_SESSION_MS),
      /** Total tokens (from response.done usage) per session; 0 = unlimited. */
      sessionTokenBudget: z.number().int().min(0).default(0),
      idleTimeoutSeconds: z.number().int().min(8).default(60),
      failedAuthPerMinute: z.number().int().min(1).default(10),
    })
    .prefault({}),
  policy: policySchema.prefault({}),
  /** What the store keeps (store/retention.ts): raw usage records N days (0 = forever), feed rows at most N days. Per-day totals are kept forever. */
  retention: z.object({ usageRecordDays: z.number().int().min(0).default(90), changesMaxAgeDays: z.number().min(1).default(7) }).prefault({}),
  /** Expose per-user counters in /metrics (off by default: one series per user). */
  perUserMetrics: z.boolean().default(false),
  /** The app's own link (`earshot.v2`: Opus, heartbeat, resume); see relay/src/app-link/. */
  appLink: z
    .object({
      /** How long a dropped link's provider session is kept for the app to resume it. */
      resumeGraceSeconds: z.number().min(0.1).default(30),
      /** Relay messages kept for replay (unacknowledged, or buffered while detached); overflow while detached ends the session. */
      resumeBufferBytes: z.number().int().min(4 * 1024).default(4 * 1024 * 1024),
      /** Opus transcoding worker threads; 0 = one per core but one, at most 4 (started on the first app link). */
      transcodeWorkers: z.number().int().min(0).max(64).default(0),
      /** Heartbeat period and the silence after which a link is dead (the protocol's defaults; lower only in tests). */
      heartbeatMs: z.number().int().min(10).default(HEARTBEAT_MS),
      linkDeadMs: z.number().int().min(30).default(LINK_DEAD_MS),
      /** Decoded microphone audio is sent to the provider in appends of at least this much (fewer, larger writes). */
      appendMs: z.number().int().min(20).max(500).default(100),
      /** Audio may arrive at most this much faster than real time, sustained... */
      maxAudioRealtimeFactor: z.number().min(1).default(2),
      /** ...after a burst of this much audio (a backlog after a stall must pass). */
      audioBurstMs: z.number().int().min(1000).default(10_000),
    })
    .prefault({}),
  simulator: z.object({ maxSessionMs: z.number().int().min(100).optional(), pitchShift: z.boolean().default(true) }).prefault({}),
});

export type RelayConfig = z.infer<typeof configSchema>;
export type SessionPolicy = z.infer<typeof policySchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);

/** Environment overrides: name → config path and parser. */
const ENV: Array<[string, string, (v: string) => unknown]> = [
  ['HOST', 'host', String],
  ['PORT', 'port', Number],
  ['LISTEN_RETRY_SECONDS', 'listenRetrySeconds', Number],
  ['PUBLIC_URL', 'publicUrl', String],
  ['EARSHOT_DATA_DIR', 'dataDir', String],
  ['DATABASE_URL', 'databaseUrl', String],
  ['STATIC_DIR', 'staticDir', String],
  ['TLS_CERT', 'tlsCert', String],
  ['TLS_KEY', 'tlsKey', String],
  ['OPENAI_API_KEY', 'openaiApiKey', String],
  ['UPSTREAM_URL', 'upstreamUrl', String],
  ['UPSTREAM_AUTH_HEADER', 'upstreamAuthHeader', String],
  ['MODEL', 'model', String],
  ['ALLOWED_ORIGINS', 'allowedOrigins', list],
  ['ALLOWED_MODELS', 'allowedModels', list],
  ['TRUSTED_PROXIES', 'trustedProxies', list],
  ['METRICS_TOKEN', 'metricsToken', String],
  ['METRICS_HOST', 'metricsHost', String],
  ['METRICS_PORT', 'metricsPort', Number],
  ['MAX_FRAME_BYTES', 'limits.maxFrameBytes', Number],
  ['MAX_EVENT_BYTES', 'limits.maxEventBytes', Number],
  ['MAX_MESSAGES_PER_SECOND', 'limits.maxMessagesPerSecond', Number],
  ['MAX_SESSION_MINUTES', 'limits.maxSessionMs', (v) => Number(v) * 60_000],
  ['SESSION_TOKEN_BUDGET', 'limits.sessionTokenBudget', Number],
  ['FAILED_AUTH_PER_MINUTE', 'limits.failedAuthPerMinute', Number],
  ['POLICY_INSTRUCTIONS', 'policy.instructions', String],
  ['POLICY_VOICE', 'policy.voice', String],
  ['USAGE_RECORD_DAYS', 'retention.usageRecordDays', Number],
  ['CHANGES_MAX_AGE_DAYS', 'retention.changesMaxAgeDays', Number],
  ['PER_USER_METRICS', 'perUserMetrics', (v) => v === '1' || v === 'true'],
  ['SIM_MAX_SESSION_MS', 'simulator.maxSessionMs', Number],
  ['RESUME_GRACE_SECONDS', 'appLink.resumeGraceSeconds', Number],
  ['TRANSCODE_WORKERS', 'appLink.transcodeWorkers', Number],
];

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
}

export function parseConfig(raw: unknown): RelayConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`Invalid Earshot configuration:\n${lines.join('\n')}`);
  }
  const config = result.data;
  // The default model is what a client gets by naming none, so it is always allowed.
  if (!config.allowedModels.includes(config.model)) config.allowedModels = [config.model, ...config.allowedModels];
  try {
    new TrustedProxies(config.trustedProxies);
  } catch (err) {
    throw new ConfigError(`Invalid Earshot configuration:\n  - trustedProxies: ${(err as Error).message}`);
  }
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new ConfigError('Invalid Earshot configuration:\n  - tlsCert/tlsKey: set both TLS_CERT and TLS_KEY, or neither');
  }
  return config;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): RelayConfig {
  let raw: Record<string, unknown> = {};
  if (env.EARSHOT_CONFIG) {
    try {
      raw = JSON.parse(readFileSync(env.EARSHOT_CONFIG, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`Cannot read config file ${env.EARSHOT_CONFIG}: ${(err as Error).message}`);
    }
  }
  for (const [name, path, parse] of ENV) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(raw, path, parse(value));
  }
  return parseConfig(raw);
}

/** Which backend a config talks to, for the startup log and /api/session-check. */
export const PROVIDER_URL = 'wss://api.openai.com/v1/realtime';

export function backendOf(config: RelayConfig): 'simulator' | 'provider' {
  return config.openaiApiKey || config.upstreamUrl ? 'provider' : 'simulator';
}
