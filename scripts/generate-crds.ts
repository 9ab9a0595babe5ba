// `npm run manifests` writes the CRDs and admission policies generated from src/crds/; `npm run manifests:check` (or
// `--check`) writes nothing and exits 1 when a committed file differs from what would be generated.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMISSION_DIR, CHART_CRD_DIR, CRD_DIR, renderManifests } from '../src/crds/manifests.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const check = process.argv.includes('--check');

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

const files = renderManifests();
const problems: string[] = [];
for (const [path, text] of files) {
  const current = readOrUndefined(join(root, path));
  if (current === text) continue;
  if (check) {
    problems.push(current === undefined ? `missing: ${path}` : `stale: ${path}`);
  } else {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
    console.log(`wrote ${path}`);
  }
}
// A CRD file nobody generates any more (a renamed or removed kind) is stale too.
for (const dir of [CRD_DIR, CHART_CRD_DIR, ADMISSION_DIR]) {
  let names: string[];
  try {
    names = readdirSync(join(root, dir));
  } catch {
    continue;
  }
  for (const name of names) {
    if (name.endsWith('.yaml') && !files.has(`${dir}/${name}`))
      problems.push(`not generated: ${dir}/${name}`);
  }
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  console.error(
    check ? 'CRDs are out of date: run `npm run manifests` and commit the result.' : 'remove these files.',
  );
  process.exit(1);
}
if (check) console.log(`CRDs up to date (${files.size} files).`);
