// `npm run usage -- [--user alice] [--since 2026-11-01] [--until 2026-11-30] [--json]`
// Usage per user from the durable log in `<EARSHOT_DATA_DIR>/usage/` (see accounts/usage-log.ts). Read-only,
// so it is safe to run while the relay is writing: a half-written last line is ignored.
import { join } from 'node:path';
import { buildReport, formatTable, ReportError } from '../accounts/report.ts';
import { USAGE_DIR } from '../accounts/usage-log.ts';
import { dataDir, fail, parseArgsOrFail } from './data-dir.ts';
import { startedAsScript } from './started-as-script.ts';

const USAGE = 'usage: npm run usage -- [--user alice] [--since 2026-11-01] [--until 2026-11-30] [--json]';

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgsOrFail(
    { args: argv, options: { user: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, json: { type: 'boolean', default: false } } },
    USAGE,
  );
  try {
    const report = buildReport(join(dataDir(), USAGE_DIR), {
      ...(values.user !== undefined ? { user: values.user } : {}),
      ...(values.since !== undefined ? { since: values.since } : {}),
      ...(values.until !== undefined ? { until: values.until } : {}),
    });
    console.log(values.json ? JSON.stringify(report, null, 2) : formatTable(report));
  } catch (err) {
    if (err instanceof ReportError) fail(err.message);
    throw err;
  }
}

if (startedAsScript(import.meta.url)) await main(process.argv.slice(2));
