/**
 * `npm run dev`: the embedded local stack until Ctrl-C.
 */
import { startLocalStack } from './stack';
import { viewerRoute } from './viewer';

const stack = await startLocalStack({ log: (l) => console.error(l), routes: [viewerRoute()] }).catch((err: Error) => {
  console.error(`npm run dev could not start: ${err.message}`);
  process.exit(1);
});
console.log(`article-pipeline local stack is up (data in ${stack.dataDir})

  S3 endpoint         ${stack.s3Endpoint}   (access key S3RVER, secret S3RVER)
  upload bucket       s3://${stack.incomingBucket}
  media bucket        s3://${stack.mediaBucket}
  DynamoDB endpoint   ${stack.dynamodbEndpoint}   (table ${stack.tableName})
  query API           ${stack.apiUrl}
  viewer              ${stack.apiUrl}/
  SQS endpoint        ${stack.sqsEndpoint}
    ingest queue      ${stack.ingestQueueUrl}
    dead-letter queue ${stack.deadLetterQueueUrl}
  dead letters        ${stack.deadLetterFile}
  search              ${stack.search ? `${stack.apiUrl}/search?q=...   (PGlite in ${stack.dataDir}/search, Data API stand-in ${stack.search.endpoint})` : 'off'}

Upload an article:
  AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER aws --endpoint-url ${stack.s3Endpoint} \\
    s3 cp post.md s3://${stack.incomingBucket}/2022/post.md
Then: curl ${stack.apiUrl}/articles
Operator's tools: npm run upload -- <folder> --wait | npm run reprocess | npm run dlq -- list | npm run reindex
`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping...');
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
