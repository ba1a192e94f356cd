/**
 * Secrets that this repository's own examples ship, each with where it comes from: a deployment
 * still using one was never given a secret of its own, and production refuses to start with it.
 * Compared without regard to case.
 */
export const PLACEHOLDER_SECRETS: ReadonlyMap<string, string> = new Map([
  ['password', 'the database login of docker-compose.yml and of the deployment chapter'],
  ['change-me', 'k8s/base/secret.example.yaml'],
]);

export interface Secrets {
  /** Connection URLs by variable name; their passwords are checked. */
  urls: Readonly<Record<string, string>>;
  /** Keys by variable name; unset ones are skipped. */
  keys: Readonly<Record<string, string | undefined>>;
}

/** One problem for each secret that is a known placeholder, naming its variable. */
export function placeholderProblems({ urls, keys }: Secrets): string[] {
  const problems: string[] = [];
  for (const [name, url] of Object.entries(urls)) {
    const password = passwordOf(url);
    const source = password === undefined ? undefined : PLACEHOLDER_SECRETS.get(password.toLowerCase());
    if (source) {
      problems.push(
        `${name} uses the placeholder password "${password}" (from ${source}); production needs a password of its own`,
      );
    }
  }
  for (const [name, key] of Object.entries(keys)) {
    const source = key === undefined ? undefined : PLACEHOLDER_SECRETS.get(key.toLowerCase());
    if (source) problems.push(`${name} is the placeholder "${key}" (from ${source}); production needs the real key`);
  }
  return problems;
}

function passwordOf(url: string): string | undefined {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password === '' ? undefined : password;
  } catch {
    return undefined;
  }
}
