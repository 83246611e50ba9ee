/**
 * DynamoDB permissions spelled out instead of grantRead/grantReadWriteData: those include
 * Scan and DescribeTable and reach every index through `index/*`. Here the actions are
 * the ones the adapters use, on the table and the named indexes only. No Scan at all:
 * the contract says a list page is an index query, never a scan, and IAM enforces it.
 * (TransactWriteItems is authorized per item as PutItem/UpdateItem/DeleteItem/ConditionCheckItem.)
 */
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { TABLE } from '../../functions/definitions';

export const TABLE_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'];
export const TABLE_WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
];

export function tableActions(table: dynamodb.ITable, access: 'read' | 'readWrite'): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: access === 'read' ? TABLE_READ_ACTIONS : [...TABLE_READ_ACTIONS, ...TABLE_WRITE_ACTIONS],
    resources: [table.tableArn, ...TABLE.globalSecondaryIndexes.map((g) => `${table.tableArn}/index/${g.indexName}`)],
  });
}
