// Shared by the operator CLIs: where the data lives and how links are built.
export function dataDir(): string {
  return process.env.EARSHOT_DATA_DIR ?? './data';
}

export function publicUrl(): string {
  return (process.env.PUBLIC_URL ?? `http://${process.env.HOST ?? '127.0.0.1'}:${process.env.PORT ?? '8080'}`).replace(/\/+$/, '');
}

export function onboardingLink(base: string, token: string): string {
  return `${base.replace(/\/+$/, '')}/#token=${token}`;
}

export function fail(message: string): never {
  console.error(`error: ${message}`);
  process.exit(1);
}
