package main

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3notifications"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
	"github.com/eventwire/eventwire/internal/contract"
)

// The deployer's event sources: the definitions bucket's notifications,
// the optional CodeCommit rule, and the optional pipeline invokers.

// addS3Notifications sends ObjectCreated and ObjectRemoved of definition
// files, and of the _lambdadef.json beside them (which can name a
// definition's function: its change re-indexes the definition), only to
// the deployer. A filter holds one suffix, and the two suffixes do not
// overlap, as S3 requires of one event type's filters. CDK applies bucket
// notifications through its BucketNotificationsHandler custom resource (a
// small Lambda function scoped to this bucket; see
// notificationsHandlerRole).
func addS3Notifications(bucket awss3.Bucket, fn awslambda.Function) {
	for _, suffix := range []string{contract.DefinitionFileName, contract.FunctionDefFileName} {
		for _, ev := range []awss3.EventType{awss3.EventType_OBJECT_CREATED, awss3.EventType_OBJECT_REMOVED} {
			bucket.AddEventNotification(ev, awss3notifications.NewLambdaDestination(fn),
				&awss3.NotificationKeyFilter{Suffix: jsii.String(suffix)})
		}
	}
}

// addCodeCommitTrigger invokes the deployer on pushes to the configured
// branches of an existing repository. CloudFormation cannot add a trigger to
// a repository it does not own (and PutRepositoryTriggers would replace the
// repository's other triggers), so the push comes from EventBridge's
// "CodeCommit Repository State Change" event, delivered as is: the deployer
// reads it directly, and its oldCommitId lets every commit of a push be
// applied, where a repository trigger names only the tip. A push that
// EventBridge cannot hand to the function (after its own retries, up to 24
// hours) goes to the failure queue, like an invocation that failed.
func addCodeCommitTrigger(stack awscdk.Stack, fn awslambda.Function, failed awssqs.IQueue, cfg settings) {
	repoArn := repositoryArn(*stack.Partition(), *stack.Region(), *stack.Account(), cfg.repository)
	detail := map[string]any{
		"event":         []string{"referenceCreated", "referenceUpdated"},
		"referenceType": []string{"branch"},
	}
	if len(cfg.branches) > 0 {
		detail["referenceName"] = cfg.branches
	}
	rule := awsevents.NewRule(stack, jsii.String("CodeCommitPush"), &awsevents.RuleProps{
		Description: jsii.String("eventwire: pushes to " + cfg.repository),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(contract.CodeCommitEventSource),
			DetailType: jsii.Strings(contract.CodeCommitStateChange),
			Resources:  jsii.Strings(repoArn),
			Detail:     &detail,
		},
	})
	rule.AddTarget(awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
		DeadLetterQueue: failed,
	}))
}

// repositoryArn is the ARN of a CodeCommit repository of the account.
func repositoryArn(partition, region, account, name string) string {
	return fmt.Sprintf("arn:%s:codecommit:%s:%s:%s", partition, region, account, name)
}

// addPipelinePermissions lets the configured pipeline role invoke the
// deployer from a CodePipeline Invoke action. The statement names that one
// role and the unqualified function. It carries no condition: the only
// ones a function's permission can hold are SourceArn and SourceAccount,
// which AWS sets for service principals only (a role's call has neither,
// so either would refuse every invocation), and PrincipalOrgID. The job
// itself is what the deployer verifies (GetJobDetails) before it reads
// anything. There is no account-wide variant: a pipeline in another account
// names its role here.
func addPipelinePermissions(fn awslambda.Function, cfg settings) {
	if cfg.pipelineRoleArn != "" {
		fn.AddPermission(jsii.String("InvokeFromPipelineRole"), &awslambda.Permission{
			Principal: awsiam.NewArnPrincipal(jsii.String(cfg.pipelineRoleArn)),
			Action:    jsii.String("lambda:InvokeFunction"),
		})
	}
}

// Drift detection's sizing.
const (
	// sweepVisibilityTimeoutSeconds is the sweep queue's visibility
	// timeout: six times the function's timeout, as Lambda's guide asks of
	// a queue a function consumes, so that a batch still being checked is
	// never handed to a second invocation.
	sweepVisibilityTimeoutSeconds = 6 * functionTimeoutSeconds
	// sweepBatchSize is the checks one invocation takes (SQS's standard
	// batch limit without a batching window).
	sweepBatchSize = 10
	// sweepMaxReceiveCount: a check received this many times without
	// succeeding moves to the dead-letter queue (a poison message, or a
	// function whose check fails every time).
	sweepMaxReceiveCount = 3
	// A sweep's messages are stale after a day: the next sweep enqueues
	// the functions again. Kept for the default schedule's period plus
	// the retries of a slow sweep.
	sweepRetentionDays = 4
)

// sweep is drift detection's part of the stack.
type sweep struct {
	queue, deadLetters awssqs.Queue
}

// addDriftSweep adds drift detection: the sweep queue (with its
// dead-letter queue), the deployer's own event source mapping on it, the
// deployer's settings for it, and the schedule that starts a sweep
// (unless off). A scheduled invocation enqueues one check per function;
// the mapping delivers them to the deployer in batches, at most
// MaximumConcurrency invocations at once, and each failed check is
// received again alone (ReportBatchItemFailures).
func addDriftSweep(stack awscdk.Stack, fn awslambda.Function, failed awssqs.IQueue, cfg settings) sweep {
	sc := cfg.sweep.config()
	var s sweep
	s.deadLetters = awssqs.NewQueue(stack, jsii.String("SweepDeadLetters"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(failedEventRetentionDays)),
	})
	s.queue = awssqs.NewQueue(stack, jsii.String("SweepQueue"), &awssqs.QueueProps{
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(sweepVisibilityTimeoutSeconds)),
		RetentionPeriod:   awscdk.Duration_Days(jsii.Number(sweepRetentionDays)),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: s.deadLetters, MaxReceiveCount: jsii.Number(sweepMaxReceiveCount)},
	})
	// Only the deployer sends to the queue: a check (or a deferred
	// teardown) is an order to the deployer, whoever else the account's
	// policies let send.
	s.queue.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OnlyTheDeployerSends"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("sqs:SendMessage"),
		Resources:  jsii.Strings(*s.queue.QueueArn()),
		Conditions: &map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": *fn.Role().RoleArn()}},
	}))
	// The mapping's receive, delete and visibility calls: CDK grants them
	// to the deployer's role (sqs:ReceiveMessage, DeleteMessage,
	// ChangeMessageVisibility, GetQueueAttributes, GetQueueUrl on this
	// queue).
	fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(s.queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(sweepBatchSize),
		MaxConcurrency:          jsii.Number(float64(sc.concurrency)),
		ReportBatchItemFailures: jsii.Bool(true),
	}))
	for name, value := range map[string]*string{
		contract.EnvSweepQueueURL:    s.queue.QueueUrl(),
		contract.EnvSweepQueueARN:    s.queue.QueueArn(),
		contract.EnvDriftHeal:        jsii.String(strconv.FormatBool(sc.heal)),
		contract.EnvSweepShare:       jsii.String(strconv.FormatFloat(sc.share, 'f', -1, 64)),
		contract.EnvSweepConcurrency: jsii.String(strconv.Itoa(sc.concurrency)),
		// Teardowns are deferred through this queue.
		contract.EnvTeardownGraceSeconds: jsii.String(strconv.Itoa(sc.teardownGrace)),
	} {
		fn.AddEnvironment(jsii.String(name), value, nil)
	}
	if sc.schedule != "" {
		rule := awsevents.NewRule(stack, jsii.String("DriftSchedule"), &awsevents.RuleProps{
			Description: jsii.String("eventwire: starts a drift sweep"),
			Schedule:    awsevents.Schedule_Expression(jsii.String(sc.schedule)),
		})
		// The constant input names the sweep; an invocation EventBridge
		// cannot deliver is kept in the failure queue.
		rule.AddTarget(awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
			Event:           awsevents.RuleTargetInput_FromObject(sweepInput()),
			DeadLetterQueue: failed,
		}))
	}
	return s
}

// sweepInput is contract.SweepInput as the object EventBridge sends.
func sweepInput() map[string]any {
	var in map[string]any
	if err := json.Unmarshal([]byte(contract.SweepInput), &in); err != nil {
		panic(fmt.Sprintf("contract.SweepInput is not a JSON object: %v", err))
	}
	return in
}
