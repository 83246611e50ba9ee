/**
 * The Logger and Metrics ports on AWS Lambda Powertools.
 *
 * Logs: Powertools' structured JSON in Lambda (service, cold start, request id, and the
 * fields each call adds). With POWERTOOLS_DEV=true (the local stack sets it) every entry is
 * one short human line instead, so `npm run dev` stays readable.
 *
 * Metrics: CloudWatch EMF lines, published once per invocation by `flush()`. Without a
 * namespace (POWERTOOLS_METRICS_NAMESPACE; unset locally), in dev mode, or with
 * POWERTOOLS_METRICS_DISABLED=true, nothing is printed. A metrics problem never fails an
 * invocation. `measuredEncoder` adds the ImageBytesSaved metric to any image encoder.
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { LogItem } from '@aws-lambda-powertools/logger';
import { Metrics as PowertoolsMetrics, MetricUnit as PowertoolsUnit } from '@aws-lambda-powertools/metrics';
import type { EncodedImage, ImageEncoder, Logger, MetricUnit, Metrics } from '../ports';

type Env = Record<string, string | undefined>;

/** Powertools' own reading of POWERTOOLS_DEV (its "extended" booleans). */
export function isDevMode(env: Env = process.env): boolean {
  return ['1', 'y', 'yes', 't', 'true', 'on'].includes((env.POWERTOOLS_DEV ?? '').trim().toLowerCase());
}

/** Keys every Powertools entry carries; the one-line format shows only time, level, service, message. */
const STANDARD_KEYS = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
  'sampling_rate',
  'xray_trace_id',
]);

function lineValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const entries = Object.entries(v as Record<string, unknown>);
    // Flat records such as step durations read best as `read:2,parse:1`.
    if (entries.every(([, x]) => typeof x === 'number' || typeof x === 'boolean')) {
      return entries.map(([k, x]) => `${k}:${x}`).join(',');
    }
  }
  return JSON.stringify(v) ?? String(v);
}

/** `12:00:01.123 INFO  ingest  event handled key=a.md outcome=published ms=42` */
export function formatLine(attrs: Record<string, unknown>): string {
  const time = typeof attrs.timestamp === 'string' ? attrs.timestamp.slice(11, 23) : new Date().toISOString().slice(11, 23);
  const level = String(attrs.level ?? 'INFO').padEnd(5);
  const service = String(attrs.service ?? '').padEnd(7);
  const fields = Object.entries(attrs)
    .filter(([k, v]) => !STANDARD_KEYS.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${lineValue(v)}`);
  return [time, level, service, String(attrs.message ?? ''), ...fields].join(' ');
}

class LineLogger extends PowertoolsLogger {
  constructor(
    options: ConstructorParameters<typeof PowertoolsLogger>[0],
    private readonly write: (line: string) => void,
  ) {
    super(options);
  }

  protected override printLog(_level: number, log: LogItem): void {
    log.prepareForPrint();
    this.write(formatLine(JSON.parse(JSON.stringify(log.getAttributes(), this.getJsonReplacer())) as Record<string, unknown>));
  }
}

export interface LoggerOptions {
  serviceName: string;
  /** `json` (Powertools' own output) or `line`; default: `line` in dev mode, else `json`. */
  format?: 'json' | 'line';
  /** Where `line` entries go (default stdout). */
  write?: (line: string) => void;
  env?: Env;
}

/** The Logger port on Powertools. `powertools` is the instance, for `addContext()`. */
export function createPowertoolsLogger(opts: LoggerOptions): Logger & { powertools: PowertoolsLogger } {
  const format = opts.format ?? (isDevMode(opts.env) ? 'line' : 'json');
  const options = { serviceName: process.env.POWERTOOLS_SERVICE_NAME || opts.serviceName };
  const pt =
    format === 'line'
      ? new LineLogger(options, opts.write ?? ((l) => process.stdout.write(l + '\n')))
      : new PowertoolsLogger(options);
  return {
    powertools: pt,
    info: (message, fields) => pt.info(message, { ...fields }),
    warn: (message, fields) => pt.warn(message, { ...fields }),
    error: (message, fields) => pt.error(message, { ...fields }),
  };
}

const UNITS: Record<MetricUnit, (typeof PowertoolsUnit)[keyof typeof PowertoolsUnit]> = {
  Count: PowertoolsUnit.Count,
  Bytes: PowertoolsUnit.Bytes,
  Milliseconds: PowertoolsUnit.Milliseconds,
};

export interface MetricsOptions {
  serviceName: string;
  /** Default: POWERTOOLS_METRICS_NAMESPACE. Without one, metrics are counted and dropped. */
  namespace?: string;
  env?: Env;
  /** Told when adding or publishing fails (default: ignored). */
  onError?: (err: unknown) => void;
}

/** The Metrics port on Powertools (EMF on stdout); `powertools` is null when it could not start. */
export function createPowertoolsMetrics(opts: MetricsOptions): Metrics & { powertools: PowertoolsMetrics | null } {
  const env = opts.env ?? process.env;
  const namespace = opts.namespace ?? env.POWERTOOLS_METRICS_NAMESPACE?.trim() ?? '';
  const onError = opts.onError ?? (() => {});
  let pt: PowertoolsMetrics;
  try {
    pt = new PowertoolsMetrics({
      serviceName: env.POWERTOOLS_SERVICE_NAME || opts.serviceName,
      ...(namespace ? { namespace } : {}),
      // Powertools' own warnings (empty flush, missing namespace) are noise here: both are expected.
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
  } catch (err) {
    // E.g. POWERTOOLS_METRICS_DISABLED=maybe: Powertools refuses to start. Run without metrics.
    onError(err);
    return { powertools: null, add() {}, flush() {} };
  }
  return {
    powertools: pt,
    add(name, unit, value) {
      try {
        pt.addMetric(name, UNITS[unit], value);
      } catch (err) {
        onError(err);
      }
    },
    flush() {
      try {
        if (namespace && pt.hasStoredMetrics()) pt.publishStoredMetrics();
        else pt.clearMetrics();
      } catch (err) {
        onError(err);
        try {
          pt.clearMetrics();
        } catch {
          // nothing more to do: the buffer is best effort
        }
      }
    },
  };
}

/**
 * The bytes a reader saves on one newly encoded image: its source size minus what a
 * full-width modern browser downloads (the widest variant in the first modern format,
 * else the fallback). Variants at other widths save more; this is the floor.
 */
export function bytesSaved(sourceBytes: number, encoded: EncodedImage): number {
  const widest = (format: string) =>
    encoded.variants.filter((v) => v.format === format).sort((a, b) => b.width - a.width)[0];
  const served = widest('avif') ?? widest('webp') ?? widest(encoded.fallback);
  return served ? Math.max(0, sourceBytes - served.bytes.byteLength) : 0;
}

/** The encoder, counting ImageBytesSaved for every image it encodes. */
export function measuredEncoder(encoder: ImageEncoder, m: Metrics): ImageEncoder {
  return {
    transformKey: (s) => encoder.transformKey(s),
    socialKey: () => encoder.socialKey(),
    socialCards: (bytes) => encoder.socialCards(bytes),
    encode: async (bytes, settings) => {
      const encoded = await encoder.encode(bytes, settings);
      m.add('ImageBytesSaved', 'Bytes', bytesSaved(bytes.byteLength, encoded));
      return encoded;
    },
  };
}
