// `npm run usage -- [--user alice] [--since 2026-11-01] [--until 2026-11-30] [--json]`
// Usage per user and per UTC day from the store (accounts/report.ts). Read-only, so it is safe to run while the
// relay is writing: it sees every usage batch committed so far.
import { buildReport, formatTable, ReportError } from '../accounts/report.ts';
import { fail, openStore, orFail, parseArgsOrFail } from './data-dir.ts';
import { startedAsScript } from './started-as-script.ts';

const USAGE = 'usage: npm run usage -- [--user alice] [--since 2026-11-01] [--until 2026-11-30] [--json]';

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgsOrFail(
    { args: argv, options: { user: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, json: { type: 'boolean', default: false } } },
    USAGE,
  );
  const store = await openStore();
  try {
    const report = await orFail(() => buildReport(store, {
      ...(values.user !== undefined ? { user: values.user } : {}),
      ...(values.since !== undefined ? { since: values.since } : {}),
      ...(values.until !== undefined ? { until: values.until } : {}),
    }));
    console.log(values.json ? JSON.stringify(report, null, 2) : formatTable(report));
  } catch (err) {
    if (err instanceof ReportError) fail(err.message);
    throw err;
  } finally {
    await store.close();
  }
}

if (startedAsScript(import.meta.url)) await main(process.argv.slice(2));
