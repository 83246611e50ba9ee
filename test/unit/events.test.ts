import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareSequencers,
  decodeS3Key,
  encodeS3Key,
  normalizeSequencer,
  parseLambdaEvent,
} from '../../functions/core/events';

const s3Record = (key: string, opts: { name?: string; seq?: string; bucket?: string } = {}) => ({
  eventVersion: '2.1',
  eventSource: 'aws:s3',
  eventName: opts.name ?? 'ObjectCreated:Put',
  eventTime: '2026-01-01T00:00:00.000Z',
  s3: { bucket: { name: opts.bucket ?? 'articles-incoming' }, object: { key, size: 10, eTag: 'abc', sequencer: opts.seq ?? '0055AED6DCD90281E5' } },
});

describe('S3 key decoding', () => {
  it('reads + as a space, percent-escapes as UTF-8, and %2B as a plus', () => {
    expect(decodeS3Key('2022/03/%E4%BF%84%E6%96%B9+%E4%BC%9A%E8%B0%88%2B1.md')).toBe('2022/03/俄方 会谈+1.md');
    expect(decodeS3Key('a%25b+c.md')).toBe('a%b c.md');
  });

  it('round-trips any key through S3-style encoding (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), (key) => {
        expect(decodeS3Key(encodeS3Key(key))).toBe(key);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips keys mixing %, + and spaces (property)', () => {
    const piece = fc.constantFrom('%', '+', ' ', '%2B', '%20', 'a', '/', '俄', 'é', 'e\u0301');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 20 }), (parts) => {
        const key = parts.join('');
        expect(decodeS3Key(encodeS3Key(key))).toBe(key);
      }),
    );
  });

  it('encodes spaces as + like S3 notifications do', () => {
    expect(encodeS3Key('a b+c.md')).toBe('a+b%2Bc.md');
  });
});

describe('sequencers', () => {
  it('compare as hex numbers, not as strings', () => {
    // As strings "FF" > "100"; as numbers 0xFF < 0x100.
    expect(compareSequencers(normalizeSequencer('FF'), normalizeSequencer('100'))).toBe(-1);
    expect(normalizeSequencer('FF') < normalizeSequencer('100')).toBe(true);
  });

  it('normalized string order equals numeric order (property)', () => {
    const hex = fc.bigInt({ min: 0n, max: (1n << 120n) - 1n }).map((n) => n.toString(16));
    fc.assert(
      fc.property(hex, hex, (a, b) => {
        const na = normalizeSequencer(a);
        const nb = normalizeSequencer(b);
        const byString = na < nb ? -1 : na > nb ? 1 : 0;
        expect(byString).toBe(compareSequencers(na, nb));
        expect(Math.sign(byString)).toBe(Math.sign(Number(BigInt('0x' + a) - BigInt('0x' + b))));
      }),
    );
  });

  it('rejects what is not hex', () => {
    expect(() => normalizeSequencer('xyz')).toThrow(/hex/);
  });
});

describe('parseLambdaEvent', () => {
  it('reads S3 notifications wrapped in SQS messages, one work item per message', () => {
    const event = {
      Records: [
        { messageId: 'm1', eventSource: 'aws:sqs', body: JSON.stringify({ Records: [s3Record('a+b.md'), s3Record('c.md', { name: 'ObjectRemoved:Delete' })] }) },
        { messageId: 'm2', eventSource: 'aws:sqs', body: JSON.stringify({ Event: 's3:TestEvent' }) },
      ],
    };
    const items = parseLambdaEvent(event);
    expect(items.map((i) => i.messageId)).toEqual(['m1', 'm2']);
    expect(items[0]!.events.map((e) => [e.kind, e.key])).toEqual([
      ['created', 'a b.md'],
      ['removed', 'c.md'],
    ]);
    expect(items[1]!.events).toEqual([]);
  });

  it('tells a versioned bucket’s delete marker from the deletion of a version', () => {
    const [marker, version] = parseLambdaEvent({
      Records: [s3Record('m.md', { name: 'ObjectRemoved:DeleteMarkerCreated' }), s3Record('v.md', { name: 'ObjectRemoved:Delete' })],
    });
    expect(marker!.events[0]).toMatchObject({ kind: 'removed', deleteMarker: true });
    expect(version!.events[0]!.kind).toBe('removed');
    expect(version!.events[0]!.deleteMarker).toBeUndefined();
  });

  it('reads direct S3 notifications', () => {
    const items = parseLambdaEvent({ Records: [s3Record('x%2By.md')] });
    expect(items).toHaveLength(1);
    expect(items[0]!.messageId).toBeNull();
    expect(items[0]!.events[0]!.key).toBe('x+y.md');
  });

  it('marks an unreadable message malformed instead of failing the batch', () => {
    const items = parseLambdaEvent({
      Records: [
        { messageId: 'bad', eventSource: 'aws:sqs', body: '{not json' },
        { messageId: 'badkey', eventSource: 'aws:sqs', body: JSON.stringify({ Records: [s3Record('%E4%ZZ.md')] }) },
        { messageId: 'ok', eventSource: 'aws:sqs', body: JSON.stringify({ Records: [s3Record('ok.md')] }) },
      ],
    });
    expect(items.map((i) => Boolean(i.malformed))).toEqual([true, true, false]);
    expect(items[2]!.events[0]!.key).toBe('ok.md');
  });

  it('ignores notifications that change no article (e.g. restores)', () => {
    const items = parseLambdaEvent({ Records: [s3Record('a.md', { name: 'ObjectRestore:Completed' })] });
    expect(items).toEqual([]);
  });
});
