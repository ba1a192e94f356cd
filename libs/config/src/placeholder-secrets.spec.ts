import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PLACEHOLDER_SECRETS } from './placeholder-secrets';

const ROOT = join(__dirname, '..', '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** The defaults Compose gives POSTGRES_PASSWORD, and passwords in connection URLs once Compose filled them in. */
function secretsIn(text: string): string[] {
  const composeDefaults = [...text.matchAll(/\$\{POSTGRES_PASSWORD:?-([^}]*)\}/g)].map((match) => match[1]);
  const filledIn = text.replace(/\$\{[A-Z_]+:?-([^}]*)\}/g, '$1');
  const inUrls = [...filledIn.matchAll(/[a-z]+:\/\/[^\s:/@'"]*:([^\s@/'"]+)@/g)].map((match) => match[1]);
  return [...composeDefaults, ...inUrls].filter((secret) => !secret.startsWith('$'));
}

describe('PLACEHOLDER_SECRETS', () => {
  it('holds every example secret the repository ships', () => {
    const files = [
      'docker-compose.yml',
      '.env.example',
      'README.md',
      ...readdirSync(join(ROOT, 'k8s', 'base')).map((file) => `k8s/base/${file}`),
    ];
    const shipped = files.flatMap((file) => secretsIn(read(file)).map((secret) => [file, secret.toLowerCase()]));
    expect(shipped.length).toBeGreaterThan(0);
    for (const [file, secret] of shipped)
      expect([file, secret, PLACEHOLDER_SECRETS.has(secret)]).toEqual([file, secret, true]);
  });

  it('holds them in lower case, as they are compared', () => {
    for (const secret of PLACEHOLDER_SECRETS.keys()) expect(secret).toBe(secret.toLowerCase());
  });
});
