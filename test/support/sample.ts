/** The sample upload from a news feed (Hexo, YAML, RFC 2822 date, Chinese, hot-linked images). */
import { readFileSync } from 'node:fs';

export const SAMPLE_PATH = new URL('../fixtures/sample/000_c0ba3bdfef9b4790.txt', import.meta.url);

export function sampleText(): string {
  return readFileSync(SAMPLE_PATH, 'utf8');
}

/** The sample without its front matter (everything after the second `---` line). */
export function sampleBody(): string {
  const lines = sampleText().split('\n');
  const fences = lines.flatMap((line, i) => (line.trim() === '---' ? [i] : []));
  return lines.slice(fences[1]! + 1).join('\n');
}
