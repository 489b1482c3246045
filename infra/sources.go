package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3notifications"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/trigger"
)

// The deployer's event sources: the definitions bucket's notifications,
// the optional CodeCommit rule, and the optional pipeline invokers.

// addS3Notifications sends ObjectCreated and ObjectRemoved of definition
// files only to the deployer. CDK applies bucket notifications through its
// BucketNotificationsHandler custom resource (a small Lambda function
// scoped to this bucket; see notificationsHandlerRole).
func addS3Notifications(bucket awss3.Bucket, fn awslambda.Function) {
	for _, ev := range []awss3.EventType{awss3.EventType_OBJECT_CREATED, awss3.EventType_OBJECT_REMOVED} {
		bucket.AddEventNotification(ev, awss3notifications.NewLambdaDestination(fn),
			&awss3.NotificationKeyFilter{Suffix: jsii.String(definition.FileName)})
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
			Source:     jsii.Strings(trigger.CodeCommitEventSource),
			DetailType: jsii.Strings(trigger.CodeCommitStateChange),
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
