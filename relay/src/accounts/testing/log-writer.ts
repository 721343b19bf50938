// Child process for the usage log's crash test: appends numbered records as fast as group commit allows and
// prints `flushed <last seq>` after each flush returns. The parent SIGKILLs it at an arbitrary moment.
// Usage: node --import tsx log-writer.ts <dataDir> <recordsPerFlush>
import { UsageLog } from '../usage-log.ts';

const [dataDir, perFlushArg] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: log-writer.ts <dataDir> [recordsPerFlush]');
const perFlush = Number(perFlushArg ?? 50);
const log = await UsageLog.open(dataDir);
const deadline = Date.now() + 20_000; // bounded even if the parent never kills it
let seq = 0;
while (Date.now() < deadline) {
  for (let i = 0; i < perFlush; i++, seq++) {
    log.append({ t: Date.now(), u: `user${seq % 3}`, s: `sess_${seq}`, c: seq, ib: 960, ob: 0, ti: 0, to: 0, ai: 0, ao: 0 });
  }
  await log.flush();
  process.stdout.write(`flushed ${seq - 1}\n`);
}
await log.close();
