/**
 * functions/config.ts: every variable's default, and the ConfigError each bad value gets
 * (the messages are what an operator reads in the Lambda's init failure).
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/config';
import { ConfigError } from '../../functions/core/errors';

/** loadConfig refuses `env` with a ConfigError whose message is exactly `message`. */
function expectRefused(env: Record<string, string>, message: string): void {
  const load = () => loadConfig(env);
  expect(load).toThrow(ConfigError);
  expect(load).toThrow(new ConfigError(message));
}

describe('loadConfig', () => {
  it('fills every default from an empty environment, except MEDIA_BASE_URL', () => {
    expectRefused({}, 'MEDIA_BASE_URL is required but not set');
    expect(loadConfig({ MEDIA_BASE_URL: 'https://media.example/' })).toEqual({
      articleUrlTemplate: null,
      mediaGcGraceSeconds: 604800,
      publicFrontMatterKeys: [],
      incomingBucket: 'articles-incoming',
      mediaBucket: 'articles-media',
      tableName: 'articles',
      mediaBaseUrl: 'https://media.example',
      defaultTimezone: 'UTC',
      articleMaxBytes: 5 * 1024 * 1024,
      image: {
        widths: [320, 640, 960, 1280, 1920],
        formats: ['webp'],
        maxBytes: 26_214_400,
        maxPixels: 100_000_000,
        fetchTimeoutMs: 10_000,
        allowPrivateHosts: [],
        onlyHosts: [],
      },
      cursorSecret: undefined,
      corsAllowedOrigins: ['*'],
      s3Endpoint: undefined,
      dynamodbEndpoint: undefined,
    });
  });

  it('trims, treats blank as unset, dedupes and sorts lists, lower-cases hosts', () => {
    const c = loadConfig({
      S3_ENDPOINT: 'http://127.0.0.1:4569',
      TABLE_NAME: '  t1  ',
      MEDIA_BUCKET: '   ',
      IMAGE_WIDTHS: '640, 320,640',
      IMAGE_FORMATS: 'AVIF,webp,avif',
      IMAGE_FETCH_ALLOW_PRIVATE_HOSTS: 'Img.Test:8080, [::1]:80',
      IMAGE_FETCH_HOSTS: 'CDN.example,',
      CURSOR_SECRET: '  s  ',
      CORS_ALLOWED_ORIGINS: 'https://a.example, https://b.example',
      ARTICLE_MAX_BYTES: '2048',
    });
    expect(c.tableName).toBe('t1');
    expect(c.mediaBucket).toBe('articles-media');
    // Locally the media bucket is served by the S3 emulator itself.
    expect(c.mediaBaseUrl).toBe('http://127.0.0.1:4569/articles-media');
    expect(c.s3Endpoint).toBe('http://127.0.0.1:4569');
    expect(c.image.widths).toEqual([320, 640]);
    expect(c.image.formats).toEqual(['avif', 'webp']);
    expect(c.image.allowPrivateHosts).toEqual(['img.test:8080', '[::1]:80']);
    expect(c.image.onlyHosts).toEqual(['cdn.example']);
    expect(c.cursorSecret).toBe('s');
    expect(c.corsAllowedOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(c.articleMaxBytes).toBe(2048);
  });

  it.each([
    [{ S3_ENDPOINT: 'ftp://x' }, 'S3_ENDPOINT must be an http(s) URL, got "ftp://x"'],
    [{ DYNAMODB_ENDPOINT: 'not a url' }, 'DYNAMODB_ENDPOINT must be an http(s) URL, got "not a url"'],
    [{ MEDIA_BASE_URL: 'media' }, 'MEDIA_BASE_URL must be an http(s) URL, got "media"'],
    [{ DEFAULT_TIMEZONE: 'Mars/Olympus' }, 'DEFAULT_TIMEZONE must be an IANA time zone such as "Asia/Shanghai", got "Mars/Olympus"'],
    [{ IMAGE_WIDTHS: '320,12' }, 'IMAGE_WIDTHS must be a comma list of widths from 16 to 8192, got "12"'],
    [{ IMAGE_WIDTHS: '320,wide' }, 'IMAGE_WIDTHS must be a comma list of widths from 16 to 8192, got "wide"'],
    [{ IMAGE_FORMATS: 'webp,gif' }, 'IMAGE_FORMATS may list only webp and avif, got "gif"'],
    [{ IMAGE_FETCH_ALLOW_PRIVATE_HOSTS: 'img.test' }, 'IMAGE_FETCH_ALLOW_PRIVATE_HOSTS entries must be host:port, got "img.test"'],
    [{ ARTICLE_MAX_BYTES: '1.5' }, 'ARTICLE_MAX_BYTES must be a whole number, got "1.5"'],
    [{ ARTICLE_MAX_BYTES: '10' }, 'ARTICLE_MAX_BYTES must be between 1024 and 104857600, got 10'],
    [{ IMAGE_MAX_BYTES: '0' }, 'IMAGE_MAX_BYTES must be between 1 and 1073741824, got 0'],
    [{ IMAGE_MAX_PIXELS: '-5' }, 'IMAGE_MAX_PIXELS must be a whole number, got "-5"'],
    [{ IMAGE_FETCH_TIMEOUT_MS: '900001' }, 'IMAGE_FETCH_TIMEOUT_MS must be between 1 and 900000, got 900001'],
  ])('refuses %j: %s', (bad, message) => {
    expectRefused({ MEDIA_BASE_URL: 'https://media.example', ...bad }, message);
  });

  it('accepts time-zone aliases that Intl knows', () => {
    expect(loadConfig({ MEDIA_BASE_URL: 'https://m.example', DEFAULT_TIMEZONE: 'Asia/Calcutta' }).defaultTimezone).toBe('Asia/Calcutta');
  });
});

describe('publishing settings', () => {
  const base = { MEDIA_BASE_URL: 'https://media.example' };
  it('takes the scheduler settings all together or not at all, the bus name and a local webhook URL', () => {
    expect(loadConfig(base)).toMatchObject({ scheduler: undefined, eventBusName: undefined, localWebhookUrl: undefined });
    expect(
      loadConfig({ ...base, SCHEDULE_GROUP_NAME: 'g', SCHEDULER_ROLE_ARN: 'arn:aws:iam::1:role/r', INGEST_QUEUE_ARN: 'arn:aws:sqs:eu-west-1:1:q', EVENT_BUS_NAME: 'bus' }),
    ).toMatchObject({ scheduler: { groupName: 'g', roleArn: 'arn:aws:iam::1:role/r', queueArn: 'arn:aws:sqs:eu-west-1:1:q' }, eventBusName: 'bus' });
    expect(() => loadConfig({ ...base, SCHEDULE_GROUP_NAME: 'g' })).toThrow(/need all of SCHEDULE_GROUP_NAME, SCHEDULER_ROLE_ARN, INGEST_QUEUE_ARN/);
    expect(() => loadConfig({ ...base, LOCAL_WEBHOOK_URL: 'ftp://x' })).toThrow(/LOCAL_WEBHOOK_URL must be an http/);
  });
});
