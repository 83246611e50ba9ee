/**
 * A fault-injecting HTTP proxy on loopback, put between the handlers and an emulator
 * (s3rver or DynamoDB Local) to prove that retries and idempotent writes really hold.
 *
 * At a set rate, with a seeded RNG, a request meets one of these faults, shaped as the
 * real service sends them:
 *   throttle  S3: 503 SlowDown (XML); DynamoDB: 400 ProvisionedThroughputExceededException
 *   error     S3: 500 InternalError;  DynamoDB: 500 InternalServerError
 *   timeout   no answer at all, held past the client's socket timeout
 *   drop      the connection is destroyed
 * either BEFORE forwarding (the emulator never sees the request) or AFTER (the emulator
 * applied it, the client sees only the fault): the second kind is what tests idempotency.
 *
 * Rules (`inject`) add targeted, deterministic faults for tests: "the next PutItem that
 * writes a tombstone loses its answer". The seed fixes the sequence of draws, not which
 * request gets which draw when requests race; the counts are what a run reports.
 */
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { seededRandom } from './seeded-random';

export type FaultService = 's3' | 'dynamodb';
export type FaultKind = 'throttle' | 'error' | 'timeout' | 'drop';
export type FaultPhase = 'before' | 'after';
export const FAULT_KINDS: readonly FaultKind[] = ['throttle', 'error', 'timeout', 'drop'];

/** What a rule sees of a request. `target` is DynamoDB's operation (`PutItem`), else null. */
export interface ProxiedRequest {
  method: string;
  path: string;
  target: string | null;
  body: string;
}

export interface FaultRule {
  match: (req: ProxiedRequest) => boolean;
  kind: FaultKind;
  phase: FaultPhase;
  /** How many matching requests get the fault (default 1). */
  times?: number;
}

export interface FaultSettings {
  /** Share of requests that meet a random fault, 0 to 1. */
  rate: number;
  seed: number;
  /** Relative weights of the kinds; timeouts cost a client timeout each, so default rarer. */
  weights?: Partial<Record<FaultKind, number>>;
}

export type FaultCounts = Record<FaultKind, { before: number; after: number }>;

export interface FaultProxyOptions extends Partial<FaultSettings> {
  upstream: string;
  service: FaultService;
  /** How long a `timeout` fault holds the request before dropping it (default 60 s). */
  holdMs?: number;
}

export interface FaultProxy {
  url: string;
  service: FaultService;
  /** Changes rate, seed (restarts the RNG) and weights at run time; rate 0 turns faults off. */
  configure(settings: Partial<FaultSettings>): void;
  inject(rule: FaultRule): void;
  /** Drops the rules not yet used up; counts stay. */
  clearRules(): void;
  /** Faults injected so far, by kind and phase (random and by rule). */
  counts(): FaultCounts;
  /** Those of them injected by a rule. */
  ruleCounts(): FaultCounts;
  /** Requests seen and forwarded to the emulator. */
  traffic(): { requests: number; forwarded: number };
  reset(): void;
  stop(): Promise<void>;
}

export { seededRandom };

export const DEFAULT_WEIGHTS: Record<FaultKind, number> = { throttle: 3, error: 3, timeout: 1, drop: 3 };


export function emptyCounts(): FaultCounts {
  return Object.fromEntries(FAULT_KINDS.map((k) => [k, { before: 0, after: 0 }])) as FaultCounts;
}

/** Adds several proxies' counts together. */
export function sumCounts(...all: FaultCounts[]): FaultCounts {
  const out = emptyCounts();
  for (const c of all) for (const k of FAULT_KINDS) {
    out[k].before += c[k].before;
    out[k].after += c[k].after;
  }
  return out;
}

export function totalFaults(c: FaultCounts): number {
  return FAULT_KINDS.reduce((n, k) => n + c[k].before + c[k].after, 0);
}

/** The error response the real service sends for a throttle or an internal error. */
export function faultResponse(service: FaultService, kind: 'throttle' | 'error', requestId: string): { status: number; headers: Record<string, string>; body: string } {
  if (service === 's3') {
    const [status, code, message] =
      kind === 'throttle' ? [503, 'SlowDown', 'Please reduce your request rate.'] : [500, 'InternalError', 'We encountered an internal error. Please try again.'];
    return {
      status,
      headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${requestId}</RequestId><HostId>fault-proxy</HostId></Error>`,
    };
  }
  const [status, type, message] =
    kind === 'throttle'
      ? [400, 'ProvisionedThroughputExceededException', 'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.']
      : [500, 'InternalServerError', 'Internal server error'];
  return {
    status,
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId },
    body: JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message }),
  };
}

// Hop-by-hop, or no longer true once the body is buffered.
const DROP_REQUEST_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'expect', 'proxy-connection', 'upgrade']);
const DROP_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding']);

interface Upstream {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(opts.upstream);
  const holdMs = opts.holdMs ?? 60_000;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let settings: FaultSettings = { rate: opts.rate ?? 0, seed: opts.seed ?? 1, weights: opts.weights };
  let random = seededRandom(settings.seed);
  let counts = emptyCounts();
  let ruleCounts = emptyCounts();
  let requests = 0;
  let forwarded = 0;
  let serial = 0;
  const rules: (FaultRule & { left: number })[] = [];
  const held = new Set<Socket>();

  const draw = (req: ProxiedRequest): { kind: FaultKind; phase: FaultPhase; rule?: true } | null => {
    const rule = rules.find((r) => r.left > 0 && r.match(req));
    if (rule) {
      rule.left--;
      return { kind: rule.kind, phase: rule.phase, rule: true };
    }
    if (settings.rate <= 0 || random() >= settings.rate) return null;
    const weights = { ...DEFAULT_WEIGHTS, ...settings.weights };
    const total = FAULT_KINDS.reduce((n, k) => n + Math.max(0, weights[k]), 0);
    let pick = random() * total;
    let kind: FaultKind = 'error';
    for (const k of FAULT_KINDS) {
      pick -= Math.max(0, weights[k]);
      if (pick < 0) {
        kind = k;
        break;
      }
    }
    return { kind, phase: random() < 0.5 ? 'before' : 'after' };
  };

  const forward = (req: IncomingMessage, body: Buffer): Promise<Upstream> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !DROP_REQUEST_HEADERS.has(k)) headers[k] = v;
      headers['content-length'] = String(body.length);
      const out = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });

  const hold = (req: IncomingMessage) => {
    // Never answer: the client's own timeout has to end this. The cap only frees the socket.
    const socket = req.socket;
    held.add(socket);
    const timer = setTimeout(() => socket.destroy(), holdMs);
    socket.once('close', () => {
      clearTimeout(timer);
      held.delete(socket);
    });
  };

  const inject = (kind: FaultKind, req: IncomingMessage, res: ServerResponse) => {
    if (kind === 'drop') {
      req.socket.destroy();
    } else if (kind === 'timeout') {
      hold(req);
    } else {
      const r = faultResponse(opts.service, kind, `fault-${++serial}`);
      res.writeHead(r.status, { ...r.headers, 'content-length': Buffer.byteLength(r.body) });
      res.end(req.method === 'HEAD' ? undefined : r.body);
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      requests++;
      const body = Buffer.concat(chunks);
      const target = opts.service === 'dynamodb' ? (String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? null) : null;
      const fault = draw({ method: req.method ?? 'GET', path: req.url ?? '/', target: target || null, body: body.toString('utf8') });
      if (fault?.rule) ruleCounts[fault.kind][fault.phase]++;
      if (fault?.phase === 'before') {
        counts[fault.kind].before++;
        return inject(fault.kind, req, res);
      }
      let up: Upstream;
      try {
        forwarded++;
        up = await forward(req, body);
      } catch {
        // The emulator itself failed: pass that on as a dropped connection.
        return req.socket.destroy();
      }
      if (fault) {
        counts[fault.kind].after++;
        return inject(fault.kind, req, res);
      }
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !DROP_RESPONSE_HEADERS.has(k)) headers[k] = v;
      // A HEAD answer keeps the object's Content-Length; every other one gets the buffered body's.
      if (req.method !== 'HEAD') headers['content-length'] = String(up.body.length);
      res.writeHead(up.status, headers);
      res.end(req.method === 'HEAD' ? undefined : up.body);
    });
    req.on('error', () => req.socket.destroy());
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    service: opts.service,
    configure(next) {
      settings = { ...settings, ...next };
      if (next.seed !== undefined) random = seededRandom(next.seed);
    },
    inject(rule) {
      rules.push({ ...rule, left: rule.times ?? 1 });
    },
    clearRules() {
      rules.length = 0;
    },
    counts: () => structuredClone(counts),
    ruleCounts: () => structuredClone(ruleCounts),
    traffic: () => ({ requests, forwarded }),
    reset() {
      counts = emptyCounts();
      ruleCounts = emptyCounts();
      requests = 0;
      forwarded = 0;
      rules.length = 0;
    },
    stop: () =>
      new Promise<void>((ok) => {
        for (const s of held) s.destroy();
        server.closeAllConnections();
        server.close(() => {
          agent.destroy();
          ok();
        });
      }),
  };
}
