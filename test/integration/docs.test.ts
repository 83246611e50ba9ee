/**
 * The documentation cannot rot: every command a user types from README.md and docs/*.md
 * (each line of a ```sh block) is either run here, against a local stack of its own, or
 * named with the test or CI step that exercises it. An unclassified command fails the test,
 * so a new documented command needs a home.
 *
 * Runnable blocks (only `export`, here-documents, `aws --endpoint-url http://127.0.0.1:…`
 * and `curl http://127.0.0.1:…`) run whole in bash, in document order, with the default
 * ports rewritten to this stack's. Every HTTP answer must be below 500 and not a 400: a 400
 * from a documented command means the documented command is wrong (an unencoded query, a
 * misspelt parameter).
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FREE_PORTS, startLocalStack, type LocalStack } from '../../local/stack';
import { SAMPLE_PATH } from '../support/sample';

const ROOT = new URL('../../', import.meta.url).pathname;
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;

interface Block {
  file: string;
  line: number;
  text: string;
  commands: string[];
}

/** ```sh blocks, with comments dropped, continuation lines joined and here-documents kept whole. */
function shellBlocks(file: string): Block[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(sh|bash|shell)\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
    const commands: string[] = [];
    for (let j = 0; j < body.length; j++) {
      let cmd = body[j]!.replace(/(^|\s)#.*$/, '').trimEnd();
      while (cmd.endsWith('\\') && j + 1 < body.length) cmd = cmd.slice(0, -1) + ' ' + body[++j]!.replace(/(^|\s)#.*$/, '').trim();
      const heredoc = /<<-?'?(\w+)'?/.exec(cmd);
      if (heredoc) while (j + 1 < body.length && body[++j]!.trim() !== heredoc[1]) {}
      if (cmd.trim()) commands.push(cmd.trim());
    }
    out.push({ file, line: start, text: body.join('\n'), commands });
  }
  return out;
}

const blocks = DOCS.flatMap(shellBlocks);

const LOCAL_URL = /(^|\s|["'])http:\/\/127\.0\.0\.1:(3000|4569|4571)/;
const isRunnable = (c: string) =>
  /^export [A-Z_]+=/.test(c) || /^cat > \S+ <</.test(c) || ((/^aws --endpoint-url /.test(c) || /^curl /.test(c)) && LOCAL_URL.test(c) && !/<[^>\s][^>]*>/.test(c));

/** Commands that cannot run here, and what exercises them instead. */
function elsewhere(command: string): string | undefined {
  const c = command.replace(/^([A-Z_]+=\S+\s+)+/, '');
  if (/^npm ci\b/.test(c) || /^npm test\b/.test(c)) return '.ci/run';
  const run = /^npm run ([\w:-]+)/.exec(c);
  if (run) {
    expect(scripts, `${c}: no such npm script`).toHaveProperty(run[1]!);
    return {
      dev: 'test/integration/dev-restart.test.ts',
      demo: 'test/integration/demo.test.ts',
      upload: 'test/integration/tools.test.ts',
      reprocess: 'test/integration/tools.test.ts',
      dlq: 'test/integration/tools.test.ts',
      gc: 'test/integration/media-gc.test.ts',
      soak: 'test/integration/faults.test.ts (the small soak)',
      deploy: 'AWS only (cdk deploy)',
      bench: 'npm run bench (never part of npm test)',
    }[run[1]!] ?? `npm script ${run[1]}`;
  }
  if (/^npx cdk synth\b/.test(c)) return 'test/infra/cli-synth.test.ts';
  if (/^npx cdk (bootstrap|deploy|destroy)\b/.test(c) || /^aws (cloudformation|dynamodb|sqs|s3|s3api|lambda) /.test(c) || /^npm install --prefix \.lambda-sharp/.test(c))
    return 'AWS only: needs an account';
  if (/^curl /.test(c) && /<[^>\s][^>]*>/.test(c)) return 'AWS only: needs an account';
  return undefined;
}

/** A user's shell: no AWS settings but those the block exports, never the instance metadata service. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { AWS_PAGER: '', AWS_EC2_METADATA_DISABLED: 'true' };
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  return env;
}

describe('documented commands', () => {
  let stack: LocalStack;
  let dataDir: string;
  let work: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'article-pipeline-docs-'));
    work = mkdtempSync(join(tmpdir(), 'article-pipeline-docs-work-'));
    // What the documented commands upload: `post.md` is the sample article, `cover.jpg` an asset.
    copyFileSync(SAMPLE_PATH, join(work, 'post.md'));
    writeFileSync(join(work, 'cover.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xd9]));
    stack = await startLocalStack({
      ...FREE_PORTS,
      dataDir,
      queue: { retryDelayMs: 25 },
      env: { IMAGE_FETCH_HOSTS: '127.0.0.1', IMAGE_FETCH_TIMEOUT_MS: '2000' },
      log: () => {},
    });
  });

  afterAll(async () => {
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('every command is run here or named with what exercises it', () => {
    const unclassified: string[] = [];
    for (const b of blocks)
      for (const c of b.commands) if (!isRunnable(c) && !elsewhere(c)) unclassified.push(`${b.file}:${b.line}: ${c}`);
    expect(unclassified).toEqual([]);
    expect(blocks.length).toBeGreaterThan(5);
  });

  const hasTools = ['curl', 'aws'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);
  const runnable = blocks.filter((b) => b.commands.length > 0 && b.commands.every(isRunnable));

  it.skipIf(!hasTools)(
    `the runnable blocks run against a local stack (${runnable.length} blocks; needs curl and the AWS CLI: apt-get install curl awscli, as .ci/run does)`,
    async () => {
      expect(runnable.length).toBeGreaterThan(2);
      const api = new URL(stack.apiUrl);
      const s3 = new URL(stack.s3Endpoint);
      const sqs = new URL(stack.sqsEndpoint);
      // One terminal session: what an earlier block exported stays set.
      const exported: string[] = [];
      for (const b of runnable) {
        const script = b.text
          .replaceAll('127.0.0.1:3000', api.host)
          .replaceAll('127.0.0.1:4569', s3.host)
          .replaceAll('127.0.0.1:4571', sqs.host);
        // curl prints each answer's status on its own line, so the test can check every one.
        const prelude = `set -e\ncurl() { command curl -sS -o /dev/null -w '\\nHTTP %{http_code}\\n' "$@"; }\n${exported.join('\n')}\n`;
        exported.push(...b.commands.filter((c) => c.startsWith('export ')));
        let out: string;
        try {
          // Asynchronous: the stack's servers run in this process and must keep answering.
          ({ stdout: out } = await promisify(execFile)('bash', ['-c', prelude + script], { cwd: work, encoding: 'utf8', env: cleanEnv() }));
        } catch (err) {
          const e = err as { stdout?: string; stderr?: string };
          throw new Error(`${b.file}:${b.line} failed:\n${script}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
        }
        for (const m of out.matchAll(/^HTTP (\d+)$/gm)) {
          const status = Number(m[1]);
          expect(status >= 500 || status === 400 || status === 0, `${b.file}:${b.line} answered ${status}:\n${script}`).toBe(false);
        }
        await stack.settle();
      }
    },
    240_000,
  );
});
