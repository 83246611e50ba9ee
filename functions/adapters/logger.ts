/** Structured JSON logs on stdout (CloudWatch parses them); one line per entry. */
import type { Logger } from '../ports';

export function createJsonLogger(base: Record<string, unknown> = {}, write: (line: string) => void = (l) => process.stdout.write(l + '\n')): Logger {
  const emit = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    write(JSON.stringify({ level, message, timestamp: new Date().toISOString(), ...base, ...fields }));
  return { info: emit('INFO'), warn: emit('WARN'), error: emit('ERROR') };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
