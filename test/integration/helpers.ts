import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { signedFetch } from '../../local/sigv4';
import { s3Client } from '../../scripts/lib';
import Ajv2020 from 'ajv/dist/2020';
import { inject } from 'vitest';

export const stack = inject('stack');

export const s3 = s3Client(stack.s3Endpoint);

export async function upload(key: string, body: string | Uint8Array, bucket = stack.incomingBucket): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

export async function remove(key: string, bucket = stack.incomingBucket): Promise<void> {
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}

/** Waits until every upload so far has been processed by the local stack. */
export async function settle(): Promise<unknown> {
  const res = await fetch(stack.controlUrl);
  return res.json();
}

export async function api<T = any>(path: string, init?: RequestInit): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(stack.apiUrl + path, init);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

/** A unique prefix per test, so tests sharing one stack never see each other's articles. */
export function uniq(label: string): string {
  return `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** An operator route (`/admin/...`), signed with the local key pair as an operator's tool would. */
export async function adminApi<T = any>(path: string, init: { method?: 'GET' | 'HEAD'; headers?: Record<string, string> } = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await signedFetch(stack.apiUrl + path, init);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

/** Finds an article of any status through the operator list (the public one shows published only). */
export async function findBySourceKey(sourceKey: string, status = 'published'): Promise<any | undefined> {
  let cursor: string | null = null;
  do {
    const q: URLSearchParams = new URLSearchParams({ status, limit: '100', ...(cursor ? { cursor } : {}) });
    const { body }: { body: any } = await adminApi(`/admin/articles?${q}`);
    const hit = body.items.find((a: any) => a.sourceKey === sourceKey);
    if (hit) return hit;
    cursor = body.nextCursor;
  } while (cursor);
  return undefined;
}

/**
 * Checks a response against the API's own OpenAPI document: the route and status are
 * documented, and the body fits the documented schema (closed: no undeclared field).
 * Returns what is wrong, or null.
 */
export async function openApiChecker(): Promise<(path: string, status: number, body: unknown) => string | null> {
  const { body: doc } = await api('/openapi.json');
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'doc', ...doc });
  const errorSchema = ajv.getSchema('doc#/components/schemas/Error')!;
  return (path, status, body) => {
    // As the API routes: trailing slashes do not count.
    const route = path.split('?')[0]!.replace(/(.)\/+$/, '$1').replace(/^(\/admin)?\/articles\/[^/]+$/, '$1/articles/{id}');
    const op = doc.paths[route]?.get;
    if (!op) {
      // Not a route: only an error can answer it.
      if (status < 400) return `${route} answered ${status} but is not documented`;
      return errorSchema(body) ? null : `error body ${JSON.stringify(errorSchema.errors)}`;
    }
    const res = op.responses[String(status)];
    if (!res) return `${route} does not document status ${status}`;
    const ref = res.content?.['application/json']?.schema?.$ref;
    if (!ref) return null;
    const check = ajv.getSchema(`doc${ref}`)!;
    return check(body) ? null : `${route} ${status}: ${JSON.stringify(check.errors)}`;
  };
}
