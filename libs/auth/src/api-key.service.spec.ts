import { loadConfig } from '@app/config';
import { generateKey, hashKey } from './api-key.format';
import { ApiKeyService } from './api-key.service';
import { ApiKeyEntity } from './persistence/api-key.entity';
import { ApiKeyRepository } from './persistence/api-key.repository';

const TTL_MS = 400;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Stands in for the keys table: answers after `delayMs`, or fails while `down`, as PostgreSQL
 * does when it is slow or gone; counts the reads.
 */
class KeysTable {
  reads = 0;
  delayMs = 20;
  down = false;
  readonly keys = new Map<string, ApiKeyEntity>();

  async findByHash(hash: string): Promise<ApiKeyEntity | null> {
    this.reads += 1;
    await sleep(this.delayMs);
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    const key = this.keys.get(hash);
    return key ? { ...key } : null;
  }

  async touch(): Promise<void> {}
}

describe('ApiKeyService: verifying keys from memory', () => {
  let table: KeysTable;
  let service: ApiKeyService;
  let text: string;

  beforeEach(() => {
    table = new KeysTable();
    const config = loadConfig({ NODE_ENV: 'test', AUTH_KEY_CACHE_TTL_MS: String(TTL_MS) });
    service = new ApiKeyService(table as unknown as ApiKeyRepository, config);
    text = generateKey().text;
    table.keys.set(hashKey(text), {
      id: 'key-1',
      tenantId: 'tenant-1',
      scopes: ['research:read'],
      revokedAt: null,
      expiresAt: null,
    } as unknown as ApiKeyEntity);
  });

  it('reads a key once for all the requests that need it at the same time', async () => {
    const principals = await Promise.all(Array.from({ length: 20 }, () => service.authenticate(text)));
    expect(new Set(principals.map((principal) => principal.keyId))).toEqual(new Set(['key-1']));
    expect(table.reads).toBe(1);
  });

  it('reads a key in use again in the background, so that no request waits for the database', async () => {
    await service.authenticate(text);
    await sleep(TTL_MS / 2 + 20);
    // Slower than the test's own wait: had this request waited for the read, it would show.
    table.delayMs = 150;
    const started = Date.now();
    await service.authenticate(text);
    expect(Date.now() - started).toBeLessThan(100);
    expect(table.reads).toBe(2);
    // Past the first read's time in memory, still answered at once: the second read renewed it.
    await sleep(TTL_MS / 2 + 20);
    const again = Date.now();
    await service.authenticate(text);
    expect(Date.now() - again).toBeLessThan(100);
  });

  it('refuses a key revoked elsewhere within the cache time, even while it is in use', async () => {
    await service.authenticate(text);
    table.keys.get(hashKey(text))!.revokedAt = new Date();
    const deadline = Date.now() + TTL_MS + 100;
    let refused: unknown;
    while (!refused && Date.now() < deadline) {
      refused = await service.authenticate(text).then(
        () => undefined,
        (error: unknown) => error,
      );
      await sleep(10);
    }
    expect(refused).toMatchObject({ message: 'the API key is not valid' });
  });

  it('never answers from memory past the cache time when the database cannot be read', async () => {
    await service.authenticate(text);
    table.down = true;
    await sleep(TTL_MS + 20);
    await expect(service.authenticate(text)).rejects.toThrow('ECONNREFUSED');
  });
});
