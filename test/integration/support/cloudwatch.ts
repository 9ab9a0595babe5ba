// Looking at what the operator made in the bed's CloudWatch (moto), and at the Events it wrote.
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  ListTagsForResourceCommand,
  type MetricAlarm,
} from '@aws-sdk/client-cloudwatch';
import { awsClientConfig } from './bed.ts';
import { kubectl } from './crds.ts';

export const cloudwatch = () => new CloudWatchClient(awsClientConfig());

/** The metric alarm of this name, or undefined when there is none. */
export async function describeAlarm(name: string): Promise<MetricAlarm | undefined> {
  const { MetricAlarms = [] } = await cloudwatch().send(new DescribeAlarmsCommand({ AlarmNames: [name] }));
  return MetricAlarms.find((a) => a.AlarmName === name);
}

export async function alarmTags(arn: string): Promise<Record<string, string>> {
  const { Tags = [] } = await cloudwatch().send(new ListTagsForResourceCommand({ ResourceARN: arn }));
  return Object.fromEntries(Tags.map((t) => [t.Key ?? '', t.Value ?? '']));
}

export interface EventSummary {
  type: string;
  reason: string;
  note: string;
}

/** The events.k8s.io Events about one object. */
export function eventsAbout(namespace: string, name: string): EventSummary[] {
  const list = JSON.parse(kubectl(['get', 'events.events.k8s.io', '-n', namespace, '-o', 'json'])) as {
    items: { type?: string; reason?: string; note?: string; regarding?: { name?: string } }[];
  };
  return list.items
    .filter((e) => e.regarding?.name === name)
    .map((e) => ({ type: e.type ?? '', reason: e.reason ?? '', note: e.note ?? '' }));
}
