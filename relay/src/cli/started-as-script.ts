// Thin process glue for modules that are also run directly as TypeScript sources (`node --import tsx
// relay/src/cli/token.ts …`, `npm run serve`): true only when `moduleUrl` is the file node was started with.
// Never true inside the built bundle, where every module shares the bundle's URL (a .js file): there the
// `earshot` dispatcher calls each main() itself.
import { pathToFileURL } from 'node:url';

export function startedAsScript(moduleUrl: string): boolean {
  return moduleUrl.endsWith('.ts') && process.argv[1] !== undefined && moduleUrl === pathToFileURL(process.argv[1]).href;
}
