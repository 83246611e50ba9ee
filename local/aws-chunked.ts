/**
 * Decoding of `Content-Encoding: aws-chunked` uploads for s3rver, which predates them.
 * Current AWS CLIs and SDKs send uploads this way by default (with a trailing checksum):
 *
 *   <hex size>[;chunk-signature=<sig>]\r\n<bytes>\r\n ... 0[;...]\r\n[<trailer>: <value>\r\n]*\r\n
 *
 * Without this, s3rver would store the framing as part of the object.
 */
import { Transform, type TransformCallback } from 'node:stream';

export class AwsChunkedDecoder extends Transform {
  private buf: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private state: 'header' | 'data' | 'data-crlf' | 'trailer' | 'done' = 'header';

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    try {
      this.drain();
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    if (this.state !== 'done' && this.state !== 'trailer') {
      done(new Error('aws-chunked body ended in the middle of a chunk'));
      return;
    }
    done();
  }

  private drain(): void {
    for (;;) {
      if (this.state === 'header' || this.state === 'trailer') {
        const eol = this.buf.indexOf('\r\n');
        if (eol < 0) {
          if (this.buf.length > 64 * 1024) throw new Error('aws-chunked header line too long');
          return;
        }
        const line = this.buf.subarray(0, eol).toString('latin1');
        this.buf = this.buf.subarray(eol + 2);
        if (this.state === 'trailer') {
          // Trailing checksums end with an empty line.
          if (line === '') this.state = 'done';
          continue;
        }
        const size = parseInt(line.split(';')[0]!.trim(), 16);
        if (!Number.isFinite(size) || size < 0) throw new Error(`bad aws-chunked size line "${line.slice(0, 40)}"`);
        if (size === 0) {
          this.state = 'trailer';
          continue;
        }
        this.remaining = size;
        this.state = 'data';
      } else if (this.state === 'data') {
        if (!this.buf.length) return;
        const take = Math.min(this.remaining, this.buf.length);
        this.push(this.buf.subarray(0, take));
        this.buf = this.buf.subarray(take);
        this.remaining -= take;
        if (this.remaining === 0) this.state = 'data-crlf';
      } else if (this.state === 'data-crlf') {
        if (this.buf.length < 2) return;
        this.buf = this.buf.subarray(2);
        this.state = 'header';
      } else {
        this.buf = Buffer.alloc(0);
        return;
      }
    }
  }
}

interface KoaLikeContext {
  req: NodeJS.ReadableStream & { headers: Record<string, string | string[] | undefined> };
}

/** A Koa middleware for s3rver: decodes aws-chunked request bodies before any controller. */
export function awsChunkedMiddleware() {
  return async (ctx: KoaLikeContext, next: () => Promise<unknown>) => {
    const headers = ctx.req.headers;
    const encoding = String(headers['content-encoding'] ?? '');
    const sha = String(headers['x-amz-content-sha256'] ?? '');
    if (encoding.includes('aws-chunked') || sha.startsWith('STREAMING-')) {
      const rest = encoding
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s && s !== 'aws-chunked');
      if (rest.length) headers['content-encoding'] = rest.join(', ');
      else delete headers['content-encoding'];
      const decoded = headers['x-amz-decoded-content-length'];
      if (decoded !== undefined) headers['content-length'] = String(decoded);
      headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      const stream = ctx.req.pipe(new AwsChunkedDecoder());
      // Controllers read the body from ctx.req; headers stay on the request object.
      Object.assign(stream, { headers });
      ctx.req = stream as unknown as KoaLikeContext['req'];
    }
    return next();
  };
}
