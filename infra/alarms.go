package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/jsii-runtime-go"
	"github.com/eventwire/eventwire/internal/contract"
)

// ConflictMetric is the metric that counts definition conflicts (two live
// files declaring one function), from the deployer's log lines.
const (
	ConflictMetricNamespace = "Eventwire"
	ConflictMetricName      = "DefinitionConflicts"
)

// addAlarms alarms on any event in the failure queue, on any function
// error, on any definition conflict, and on drift (drifted functions,
// orphaned resources, drift checks given up on), to an SNS topic (with an
// email subscription when configured), which it returns.
func addAlarms(p *parts) awssns.Topic {
	stack, fn, logs, failed, sw, cfg := p.stack, p.fn, p.logGroup, p.failed, p.sw, p.cfg
	// Not KMS-encrypted: CloudWatch cannot publish to a topic under the AWS
	// managed SNS key, and a customer key (with a key policy for
	// cloudwatch.amazonaws.com) costs more than alarm texts are worth.
	topic := awssns.NewTopic(stack, jsii.String("Alarms"), &awssns.TopicProps{
		DisplayName: jsii.String("eventwire alarms"),
		EnforceSSL:  jsii.Bool(true),
	})
	if cfg.notificationEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(cfg.notificationEmail), nil))
	}
	period := awscdk.Duration_Minutes(jsii.Number(5))
	action := awscloudwatchactions.NewSnsAction(topic)
	// Each alarm goes off on one data point of at least 1 in a period.
	alarm := func(id string, metric awscloudwatch.Metric, description string) {
		metric.CreateAlarm(stack, jsii.String(id), &awscloudwatch.CreateAlarmOptions{
			AlarmDescription:   jsii.String(description),
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		}).AddAlarmAction(action)
	}
	alarm("FailedEventsAlarm",
		failed.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Maximum")}),
		"eventwire: events the deployer gave up on are waiting in the failure queue")
	alarm("DeployerErrorsAlarm",
		fn.MetricErrors(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")}),
		"eventwire: the deployer returned errors (AWS failures; they are retried)")
	conflicts := awslogs.NewMetricFilter(stack, jsii.String("ConflictsMetricFilter"), &awslogs.MetricFilterProps{
		LogGroup: logs,
		// Lambda's JSON log format names slog's msg key "message".
		FilterPattern:   awslogs.FilterPattern_StringValue(jsii.String("$.message"), jsii.String("="), jsii.String(contract.ConflictLogMessage)),
		MetricNamespace: jsii.String(ConflictMetricNamespace),
		MetricName:      jsii.String(ConflictMetricName),
		MetricValue:     jsii.String("1"),
	})
	alarm("ConflictsAlarm",
		conflicts.Metric(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")}),
		"eventwire: two live definition files declare one function; the later one was not applied (see the deployment records with outcome conflict)")
	addDriftAlarms(fn, sw, period, alarm)
	return topic
}

// addDriftAlarms alarms on the sweep's metrics (Embedded Metric Format
// lines of the deployer: namespace contract.MetricNamespace, dimension
// contract.MetricDimension = the deployer's name) and on its dead-letter
// queue.
func addDriftAlarms(fn awslambda.Function, sw sweep, period awscdk.Duration, alarm func(string, awscloudwatch.Metric, string)) {
	sweepMetric := func(name string) awscloudwatch.Metric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String(contract.MetricNamespace),
			MetricName:    jsii.String(name),
			DimensionsMap: &map[string]*string{contract.MetricDimension: fn.FunctionName()},
			Period:        period,
			Statistic:     jsii.String("Sum"),
		})
	}
	alarm("DriftAlarm", sweepMetric(contract.MetricDriftedFunctions),
		"eventwire: the drift sweep found functions whose event sources differ from their files (healed too when driftHeal is on; eventwire drift --table lists them)")
	alarm("OrphansAlarm", sweepMetric(contract.MetricOrphanedResources),
		"eventwire: the drift sweep found resources eventwire manages for functions no live file declares (pruned too when driftHeal is on; eventwire drift --table lists them)")
	alarm("SweepDeadLettersAlarm",
		sw.deadLetters.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Maximum")}),
		"eventwire: drift checks failed 3 times and wait in the sweep's dead-letter queue (their functions were not checked)")
}
