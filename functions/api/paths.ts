/**
 * Path rules shared by the API, its OpenAPI document and the local gateway, so the three
 * cannot disagree.
 */

/** The routes API Gateway authorizes with IAM (infra/constructs/query-api.ts). */
export function isOperatorPath(path: string): boolean {
  return path === '/admin' || path.startsWith('/admin/');
}

/** An article id in a path: what ingest's ids look like (16 characters today). */
export const ARTICLE_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
