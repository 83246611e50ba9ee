/**
 * Typed errors. Each has a stable `code`; the handlers map them to responses in one
 * place (functions/api/respond.ts, functions/ingest/handler.ts). A raw error or stack
 * trace is never serialized into a response or an article record.
 */

export type ArticleErrorCode =
  | 'empty_file'
  | 'not_utf8'
  | 'file_too_large'
  | 'invalid_front_matter'
  | 'invalid_date'
  | 'not_an_article'
  | 'processing_failed'
  | 'article_too_large'
  | 'body_too_large'
  | 'article_unstorable';

/**
 * The file cannot become an article. The article is indexed with status `failed` and
 * this error's code and message, which tell the author what to fix.
 */
export class ArticleError extends Error {
  override readonly name = 'ArticleError';
  constructor(
    readonly code: ArticleErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A newer event for the same key has already been applied: this one changes nothing. */
export class StaleEventError extends Error {
  override readonly name = 'StaleEventError';
  readonly code = 'stale_event';
  constructor(message = 'a newer event for this key was already applied') {
    super(message);
  }
}

/**
 * The article changed between the event's read and its write (another event's transition
 * won the compare-and-set): the event reads again and decides again.
 */
export class LostRaceError extends Error {
  override readonly name = 'LostRaceError';
  readonly code = 'lost_race';
  constructor(message = 'the article changed since this event read it') {
    super(message);
  }
}

/**
 * A transition that would not fit in one DynamoDB transaction (100 items, 4 MB). The caps
 * in functions/write-budget.ts rule this out for every article this code writes.
 */
export class TransactionTooLargeError extends Error {
  override readonly name = 'TransactionTooLargeError';
  readonly code = 'transaction_too_large';
}

export type ApiErrorCode =
  | 'bad_request'
  | 'invalid_parameter'
  | 'invalid_cursor'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'article_url_template_missing'
  | 'internal_error';

/** An error the query API answers with `{"error": {"code", "message"}}`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Configuration is missing or malformed: thrown once, at start-up. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'invalid_config';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export type ImageErrorCode =
  | 'image_not_found'
  | 'image_too_large'
  | 'image_timeout'
  | 'image_blocked_address'
  | 'image_unsupported_url'
  | 'image_not_an_image'
  | 'image_corrupt'
  | 'image_too_many_pixels'
  | 'image_fetch_failed'
  | 'image_too_many';

/**
 * One image could not be re-hosted. The article still publishes: the image keeps its
 * original URL and the article gets a warning with this code.
 */
export class ImageError extends Error {
  override readonly name = 'ImageError';
  constructor(
    readonly code: ImageErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The media sweeper is removing this re-hosted image right now (functions/core/media-gc.ts).
 * Thrown by the image records, not an ImageError: the event fails and is retried once the
 * sweeper is done, and then re-hosts the image afresh instead of pointing at deleted files.
 */
export class ImageBeingCollectedError extends Error {
  override readonly name = 'ImageBeingCollectedError';
  readonly code = 'image_being_collected';
  constructor(hash: string) {
    super(`re-hosted image ${hash} is being removed by the media sweeper; the event is retried`);
  }
}
