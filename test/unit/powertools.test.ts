/**
 * The Logger and Metrics ports on Powertools: JSON in Lambda, one line per entry in dev
 * mode, EMF metrics only with a namespace, and nothing a metrics problem can break.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  bytesSaved,
  createPowertoolsLogger,
  createPowertoolsMetrics,
  formatLine,
  isDevMode,
  measuredEncoder,
} from '../../functions/adapters/powertools';
import type { EncodedImage, ImageEncoder, Metrics } from '../../functions/ports';

let output: string[];

beforeEach(() => {
  // The integration stack sets these for its handlers; these tests decide for themselves.
  for (const name of ['POWERTOOLS_DEV', 'POWERTOOLS_METRICS_DISABLED', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME']) {
    vi.stubEnv(name, undefined);
  }
  output = [];
  // Powertools writes warnings and errors to stderr: both count as output here.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      output.push(String(chunk));
      return true;
    });
  }
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

const jsonLines = () =>
  output
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('logger', () => {
  it('writes Powertools JSON with the service and the fields of the call', () => {
    const log = createPowertoolsLogger({ serviceName: 'ingest', format: 'json' });
    log.info('event handled', { key: '2022/a.md', outcome: 'published', ms: 12 });
    log.error('event failed; it will be retried', { key: 'b.md', error: 'boom' });
    const [info, error] = jsonLines();
    expect(info).toMatchObject({ level: 'INFO', message: 'event handled', service: 'ingest', key: '2022/a.md', outcome: 'published', ms: 12 });
    expect(typeof info!.timestamp).toBe('string');
    expect(error).toMatchObject({ level: 'ERROR', message: 'event failed; it will be retried', key: 'b.md', error: 'boom' });
  });

  it('writes one readable line per entry in dev mode', () => {
    const lines: string[] = [];
    expect(isDevMode({ POWERTOOLS_DEV: 'true' })).toBe(true);
    expect(isDevMode({ POWERTOOLS_DEV: 'false' })).toBe(false);
    const log = createPowertoolsLogger({ serviceName: 'ingest', env: { POWERTOOLS_DEV: 'true' }, write: (l) => lines.push(l) });
    log.info('article processed', { key: 'my post.md', status: 'published', steps: { read: 2, parse: 1 }, tags: ['a'] });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{3} INFO +ingest +article processed /);
    expect(lines[0]).toContain('key="my post.md" status=published steps=read:2,parse:1 tags=["a"]');
    expect(lines[0]).not.toContain('cold_start');
    expect(output.join('')).toBe('');
  });

  it('formats arbitrary attributes on one line', () => {
    const line = formatLine({ level: 'WARN', message: 'x', timestamp: '2026-01-02T03:04:05.678Z', service: 'api', n: 1, s: 'a=b', nested: { a: { b: 1 } } });
    expect(line).toBe('03:04:05.678 WARN  api     x n=1 s="a=b" nested={"a":{"b":1}}');
    expect(line).not.toContain('\n');
  });
});

describe('metrics', () => {
  it('publishes EMF with the namespace, once per flush', () => {
    const m = createPowertoolsMetrics({ serviceName: 'ingest', namespace: 'ArticlePipeline' });
    m.add('ArticlesProcessed', 'Count', 1);
    m.add('ArticlesProcessed', 'Count', 1);
    m.add('ImageBytesSaved', 'Bytes', 2048);
    m.flush();
    const emf = jsonLines().find((l) => '_aws' in l) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string; Unit: string }[] }[] } };
    expect(emf._aws.CloudWatchMetrics[0]!.Namespace).toBe('ArticlePipeline');
    expect(emf._aws.CloudWatchMetrics[0]!.Metrics).toEqual(
      expect.arrayContaining([{ Name: 'ArticlesProcessed', Unit: 'Count' }, { Name: 'ImageBytesSaved', Unit: 'Bytes' }]),
    );
    expect(emf.ArticlesProcessed).toEqual([1, 1]);
    expect(emf.ImageBytesSaved).toBe(2048);
    expect(emf.service).toBe('ingest');
    output.length = 0;
    m.flush();
    expect(output.join('')).toBe('');
  });

  it('prints nothing and throws nothing without a namespace or with bad input', () => {
    const errors: unknown[] = [];
    const m = createPowertoolsMetrics({ serviceName: 'ingest', onError: (e) => errors.push(e) });
    m.add('ArticlesProcessed', 'Count', 1);
    m.add('', 'Count', 1);
    m.add('Nope', 'Furlongs' as never, 1);
    expect(() => m.flush()).not.toThrow();
    expect(output.join('')).toBe('');
    expect(errors).toHaveLength(2);
  });

  it('runs without metrics when Powertools refuses its configuration', () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'maybe');
    const errors: unknown[] = [];
    const m = createPowertoolsMetrics({ serviceName: 'ingest', namespace: 'ArticlePipeline', onError: (e) => errors.push(e) });
    m.add('ArticlesProcessed', 'Count', 1);
    expect(() => m.flush()).not.toThrow();
    expect(errors).toHaveLength(1);
    expect(output.join('')).toBe('');
  });

  it('counts the bytes a full-width reader saves on each encoded image', async () => {
    const variant = (format: EncodedImage['variants'][number]['format'], width: number, size: number) => ({
      format,
      contentType: `image/${format}`,
      width,
      height: width,
      bytes: new Uint8Array(size),
    });
    const encoded: EncodedImage = {
      width: 1280,
      height: 1280,
      animated: false,
      fallback: 'jpeg',
      variants: [variant('jpeg', 1280, 400), variant('webp', 640, 100), variant('webp', 1280, 300), variant('jpeg', 640, 150)],
      placeholder: null,
      color: null,
    };
    expect(bytesSaved(1000, encoded)).toBe(700);
    expect(bytesSaved(200, encoded)).toBe(0);
    expect(bytesSaved(1000, { ...encoded, variants: encoded.variants.filter((v) => v.format === 'jpeg') })).toBe(600);

    const added: [string, string, number][] = [];
    const metrics: Metrics = { add: (n, u, v) => added.push([n, u, v]), flush() {} };
    const inner: ImageEncoder = { transformKey: () => 'tk', encode: async () => encoded, socialKey: () => 'sk', socialCards: async () => ({ og: encoded.variants[0]!, square: encoded.variants[0]! }) };
    const measured = measuredEncoder(inner, metrics);
    expect(await measured.encode(new Uint8Array(1000), { widths: [640], formats: ['webp'], maxPixels: 1e6 })).toBe(encoded);
    expect(measured.transformKey({ widths: [640], formats: ['webp'] })).toBe('tk');
    expect(added).toEqual([['ImageBytesSaved', 'Bytes', 700]]);
  });
});
