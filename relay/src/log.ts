// Structured JSON logs (pino). Tokens and keys are never logged: fields that could carry them are redacted
// in case a caller passes a whole header bag by mistake.
import pino from 'pino';

export const log = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  base: { svc: 'earshot-relay' },
  redact: {
    paths: ['token', 'authorization', 'apiKey', 'api_key', 'headers.authorization', 'headers["sec-websocket-protocol"]', '*.token', '*.apiKey'],
    censor: '[redacted]',
  },
});

export type Logger = pino.Logger;
