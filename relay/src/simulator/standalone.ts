// `npm run simulator`: the simulator as its own process, for pointing a relay at it by URL
// (UPSTREAM_URL=ws://127.0.0.1:8081/v1/realtime) or for benchmarks (SIM_BENCHMARK=1).
import { startSimulatorServer } from './server.ts';

const server = await startSimulatorServer({
  host: process.env.HOST ?? '127.0.0.1',
  port: Number(process.env.PORT ?? 8081),
  benchmark: process.env.SIM_BENCHMARK === '1',
  ...(process.env.SIM_MAX_SESSION_MS ? { maxSessionMs: Number(process.env.SIM_MAX_SESSION_MS) } : {}),
  ...(process.env.SIM_API_KEY ? { apiKey: process.env.SIM_API_KEY } : {}),
});
console.log(JSON.stringify({ msg: 'simulator listening', url: server.url, benchmark: process.env.SIM_BENCHMARK === '1' }));
const stop = (): void => {
  void server.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
