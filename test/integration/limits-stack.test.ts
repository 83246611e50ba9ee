/**
 * Issue 11's table and limit cases through the local stack (S3 -> queue -> ingest ->
 * DynamoDB Local): each upload ends as an article, `published` with coded warnings or
 * `failed` with a code, and none of them reaches the dead-letter file.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../functions/adapters/clients';
import { DynamoArticleIndex } from '../../functions/adapters/dynamo-index';
import { articleId } from '../../functions/core/ingest';
import { readDeadLetters } from '../../local/queue';
import { settle, stack, uniq, upload } from './helpers';

const ns = uniq('limits-stack');
const index = new DynamoArticleIndex(createDocumentClient({ dynamodbEndpoint: stack.dynamodbEndpoint }), stack.tableName);
const fm = (lines: string, body = 'Body.\n') => `---\n${lines}\n---\n${body}`;

function keyOfBytes(bytes: number): string {
  let key = `${ns}/`;
  const segment = 'é'.repeat(100) + '/';
  while (Buffer.byteLength(key + segment) + 3 < bytes) key += segment;
  return `${key}${'a'.repeat(bytes - Buffer.byteLength(key) - 3)}.md`;
}

/** upload name -> [key, body, expected status, expected code (error or one of the warnings)] */
const CASES: Record<string, [string, string, 'published' | 'failed', string]> = {
  emptyKey: [`${ns}/empty-key.md`, fm('"": x\ntitle: Empty key'), 'published', 'front_matter_truncated'],
  chineseTitle: [`${ns}/chinese-title.md`, fm(`title: ${'标题'.repeat(35_000)}`), 'published', 'title_truncated'],
  missingImages: [
    `${ns}/missing-images.html`,
    fm('title: Many images', Array.from({ length: 4000 }, (_, i) => `<p><img src="missing/${i}.png"></p>`).join('\n')),
    'published',
    'images_truncated',
  ],
  longSlug: [`${ns}/long-slug.md`, fm(`title: t\nslug: ${'s'.repeat(5000)}`), 'published', 'slug_truncated'],
  longNames: [
    `${ns}/long-names.md`,
    fm(`title: t\ncategories: [${'类'.repeat(3000)}]\ntags: [${'t'.repeat(3000)}]\nauthor: ${'a'.repeat(3000)}`),
    'published',
    'name_too_long',
  ],
  chineseKey: [`${ns}-${'中'.repeat(320)}.md`, fm('title: Chinese key'), 'published', ''],
  key1024: [keyOfBytes(1024), fm('title: 1024'), 'published', ''],
  deep: [`${ns}/deep.md`, `${'{"a":'.repeat(40)}1${'}'.repeat(40)}\nBody\n`, 'failed', 'invalid_front_matter'],
  manyKeys: [
    `${ns}/many-keys.md`,
    fm(`title: keys\n${Array.from({ length: 6000 }, (_, i) => `k${i}: ${'值'.repeat(4)}`).join('\n')}`),
    'published',
    'front_matter_truncated',
  ],
  numbers: [`${ns}/numbers.md`, fm('title: n\nbig: 1e300\ntiny: 1e-200'), 'published', 'front_matter_truncated'],
  oddKeys: [`${ns}/odd-keys.md`, `{"title": "odd", "__proto__": 1, "constructor": "x", "": 2}\nBody\n`, 'published', 'front_matter_truncated'],
};

beforeAll(async () => {
  for (const [key, body] of Object.values(CASES)) await upload(key, body);
  await settle();
}, 180_000);

describe('issue 11’s inputs through the local stack', () => {
  for (const [name, [key, , status, code]] of Object.entries(CASES)) {
    it(`${name}: ${status}${code ? ` (${code})` : ''}`, async () => {
      expect(Buffer.byteLength(key)).toBeLessThanOrEqual(1024);
      const a = await index.get(articleId(key));
      expect(a, key).not.toBeNull();
      expect(a!.sourceKey).toBe(key);
      expect(a!.status).toBe(status);
      if (status === 'failed') expect(a!.error?.code).toBe(code);
      else if (code) expect(a!.warnings.map((w) => w.code)).toContain(code);
    });
  }

  it('nothing of them reached the dead-letter file', () => {
    const mine = readDeadLetters(stack.deadLetterFile).filter((l) => l.body.includes(ns));
    expect(mine).toEqual([]);
  });
});

describe('an article whose processed body would not fit the API’s Lambda response (6 MB)', () => {
  // Each `"`, `&` and `<` of the text becomes an entity (&quot; &amp; &lt;), and the HTML is
  // escaped twice on its way out (a JSON string in the article, the article in Lambda's
  // result): a 1.8 MB file became a 7.8 MB response, and a 500.
  const key = `${ns}/entities.md`;
  const text = fm('title: Entities', `${'"&<'.repeat(600_000)}\n`);

  it('is failed with body_too_large and a message to act on, and GET /articles/{id} is a 404, never a 5xx', async () => {
    expect(Buffer.byteLength(text)).toBeLessThan(5 * 1024 * 1024);
    await upload(key, text);
    await settle();
    const id = articleId(key);
    const res = await fetch(`${stack.apiUrl}/articles/${id}`);
    expect(res.status).toBeLessThan(500);
    expect(res.status).toBe(404);
    const a = await index.get(id);
    expect(a?.status).toBe('failed');
    expect(a?.error?.code).toBe('body_too_large');
    expect(a?.error?.message).toMatch(/MB/);
    expect(readDeadLetters(stack.deadLetterFile).filter((l) => l.body.includes(key))).toEqual([]);
  }, 120_000);
});
