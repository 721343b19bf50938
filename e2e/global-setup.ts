// Browser tests run against the production build, never the dev server: build it once per run.
import { buildPwa } from '../relay/src/testing/build-pwa.ts';

export default function setup(): void {
  if (process.env.EARSHOT_SKIP_BUILD === '1') return;
  buildPwa();
}
