// Brings the local test bed up before the integration tests when it is not running, so
// `npx vitest run --project integration` works on its own as well as under `make test`.
import { execFileSync } from 'node:child_process';
import { repoRoot } from './support/bed.ts';

export default function setup(): void {
  const script = (name: string) => `${repoRoot}hack/testbed/${name}`;
  try {
    execFileSync(script('status.sh'), { stdio: 'ignore' });
  } catch {
    execFileSync(script('up.sh'), { stdio: 'inherit' });
  }
}
