// The HTTP status line for every status the relay refuses with (the relay's own routes and the admin API).
import type { RefusalStatus } from '../../../protocol/relay-errors.ts';

export const STATUS_LINES: Record<RefusalStatus, string> = {
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  426: '426 Upgrade Required',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};
