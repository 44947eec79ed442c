import { alarms, metricsNamespace } from "../alarms.js";

/**
 * One SNS topic and the alarms of infra/alarms.ts on the functions' EMF metrics. Subscribe
 * to the topic (email, chat, paging) outside the stack; its ARN is the `alarms` output.
 */
export function createAlarms(stage: string): { topic: sst.aws.SnsTopic; alarms: aws.cloudwatch.MetricAlarm[] } {
  const topic = new sst.aws.SnsTopic("Alarms");
  const namespace = metricsNamespace(stage);
  const created = alarms.map((a) => {
    const refs = Object.entries(a.metrics);
    const metric = (ref: (typeof refs)[number][1]) => ({
      namespace,
      metricName: ref.metric.name,
      dimensions: ref.dimensions,
      period: a.periodSeconds,
      stat: ref.stat,
    });
    const common = {
      alarmDescription: a.description,
      comparisonOperator: a.comparison,
      evaluationPeriods: a.evaluationPeriods,
      threshold: a.threshold,
      treatMissingData: "notBreaching",
      alarmActions: [topic.arn],
      okActions: [topic.arn],
    };
    if (!a.expression) {
      const [, ref] = refs[0]!;
      const m = metric(ref);
      return new aws.cloudwatch.MetricAlarm(`${a.name}Alarm`, {
        ...common,
        namespace: m.namespace,
        metricName: m.metricName,
        dimensions: m.dimensions,
        period: m.period,
        statistic: m.stat,
      });
    }
    return new aws.cloudwatch.MetricAlarm(`${a.name}Alarm`, {
      ...common,
      metricQueries: [
        ...refs.map(([id, ref]) => ({ id, returnData: false, metric: metric(ref) })),
        { id: "rate", expression: a.expression, label: a.name, returnData: true },
      ],
    });
  });
  return { topic, alarms: created };
}
