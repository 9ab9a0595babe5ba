// The services image installs services/package.json; tests and type checks use the root's. Both
// must ask for the same versions, and the image must have everything the services import.
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string) =>
  JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as {
    dependencies: Record<string, string>;
  };

function sources(dir: URL): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory()) return sources(new URL(`${entry.name}/`, dir));
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && entry.name !== 'testing.ts'
      ? [readFileSync(new URL(entry.name, dir), 'utf8')]
      : [];
  });
}

describe('services/package.json', () => {
  const services = read('./package.json').dependencies;
  const root = read('../package.json').dependencies;

  it('asks for the versions the root package asks for', () => {
    for (const [name, range] of Object.entries(services))
      expect(`${name}@${root[name]}`).toBe(`${name}@${range}`);
  });

  it('lists every package the services import, and nothing else', () => {
    const imported = new Set<string>();
    for (const text of sources(new URL('./', import.meta.url))) {
      for (const [, specifier] of text.matchAll(/^import .*?from '([^'.][^']*)';$/gms)) {
        if (!specifier || specifier.startsWith('node:')) continue;
        const parts = specifier.split('/');
        imported.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier));
      }
    }
    expect([...imported].sort()).toEqual(Object.keys(services).sort());
  });
});
