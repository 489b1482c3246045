package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/eventwire/eventwire/internal/cli"
	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/deployer/compose"
	"github.com/eventwire/eventwire/internal/deployer/sweep"
	"github.com/eventwire/eventwire/internal/reconcile"
)

// demoSweepQueue is the stack's sweep queue, in the demo.
const demoSweepQueue = "eventwire-sweep"

// driftBatchSize is what someone sets by hand on the orders mapping.
const driftBatchSize = 7

// runDrift shows drift detection: a mapping changed by hand, a sweep
// (the schedule's event, then the sweep queue's messages delivered to the
// deployer's handler as its event source mapping does), `eventwire drift`,
// then the same sweep with heal on, and AWS back to the file.
func runDrift(ctx context.Context, cfg aws.Config, w io.Writer) error {
	step(w, "Drift: someone changes the orders mapping by hand")
	lc := awslambda.NewFromConfig(cfg)
	uuid, size, err := ordersMapping(ctx, lc)
	if err != nil {
		return err
	}
	if _, err := lc.UpdateEventSourceMapping(ctx, &awslambda.UpdateEventSourceMappingInput{
		UUID: aws.String(uuid), BatchSize: aws.Int32(driftBatchSize),
	}); err != nil {
		return fmt.Errorf("update event source mapping %s: %w", uuid, err)
	}
	fmt.Fprintf(w, "$ aws lambda update-event-source-mapping --uuid %s --batch-size %d   # was %d\n", uuid, driftBatchSize, size)

	sq := sqs.NewFromConfig(cfg)
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(demoSweepQueue)})
	if err != nil {
		return fmt.Errorf("create queue %s: %w", demoSweepQueue, err)
	}
	attrs, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return fmt.Errorf("get the ARN of queue %s: %w", demoSweepQueue, err)
	}
	s := demoSweep{cfg: cfg, sqs: sq, url: aws.ToString(q.QueueUrl), arn: attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)], w: w}

	step(w, "The scheduled sweep, report only (driftHeal off)")
	fmt.Fprintln(w, "It checks every function a live file in the bucket declares (orders), and every function with a mapping")
	fmt.Fprintln(w, "eventwire manages that no live file declares: inventory, applied above by the CLI without --table, is such an orphan.")
	if err := s.run(ctx, false); err != nil {
		return err
	}
	if err := s.cli(ctx, 2, "drift", "--detailed-exitcode", "--table", demoTable); err != nil {
		return err
	}

	step(w, "The next sweep, with driftHeal on: the plan is applied")
	if err := s.run(ctx, true); err != nil {
		return err
	}
	if err := s.cli(ctx, 0, "drift", "--detailed-exitcode", "--table", demoTable); err != nil {
		return err
	}
	if err := s.cli(ctx, 0, "history", "--table", demoTable, "orders"); err != nil {
		return err
	}
	_, size, err = ordersMapping(ctx, lc)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nThe orders mapping's BatchSize in AWS: %d (the file says 5)\n", size)
	return nil
}

// ordersMapping is the UUID and batch size of the orders function's
// mapping.
func ordersMapping(ctx context.Context, lc *awslambda.Client) (string, int32, error) {
	// Every mapping: moto's FunctionName filter compares the text given
	// at creation.
	out, err := lc.ListEventSourceMappings(ctx, &awslambda.ListEventSourceMappingsInput{})
	if err != nil {
		return "", 0, fmt.Errorf("list the mappings of orders: %w", err)
	}
	for _, m := range out.EventSourceMappings {
		if strings.HasSuffix(aws.ToString(m.FunctionArn), ":function:orders") && strings.HasSuffix(aws.ToString(m.EventSourceArn), ":orders") {
			return aws.ToString(m.UUID), aws.ToInt32(m.BatchSize), nil
		}
	}
	return "", 0, fmt.Errorf("orders has no mapping of its queue")
}

// demoSweep runs sweeps through the deployer's real handler.
type demoSweep struct {
	cfg      aws.Config
	sqs      *sqs.Client
	url, arn string
	w        io.Writer
}

// run starts a sweep as the stack's schedule does (its constant input),
// then delivers the sweep queue's messages to the handler as the
// deployer's event source mapping does: batches of up to 10, each message
// deleted unless the handler reports it failed.
func (s *demoSweep) run(ctx context.Context, heal bool) error {
	log := slog.New(newLambdaLog(s.w))
	h := compose.NewFromConfig(s.cfg, reconcile.New(s.cfg, reconcile.Options{Logger: log}).Runs(), deployer.Settings{
		Table: demoTable, Bucket: demoBucket, SweepQueueURL: s.url, SweepQueueARN: s.arn, DriftHeal: heal,
		SweepShare: contract.DefaultSweepShare, SweepConcurrency: contract.DefaultSweepConcurrency,
	}, log, pathStyle)
	fmt.Fprintf(s.w, "\ninvoking the deployer with the schedule's input %s (it enqueues one check per function):\n", contract.SweepInput)
	if _, err := h.Invoke(invocation(ctx), json.RawMessage(contract.SweepInput)); err != nil {
		return fmt.Errorf("scheduled sweep: %w", err)
	}
	for {
		out, err := s.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.url), MaxNumberOfMessages: 10})
		if err != nil {
			return fmt.Errorf("receive from %s: %w", s.url, err)
		}
		if len(out.Messages) == 0 {
			return nil
		}
		ev := sweep.SQSEventFor(s.arn, s.cfg.Region, out.Messages)
		raw, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.w, "\ninvoking the deployer with a batch of %d sweep message(s), as its event source mapping does:\n", len(ev.Records))
		resp, err := h.Invoke(invocation(ctx), raw)
		if err != nil {
			return fmt.Errorf("sweep batch: %w", err)
		}
		if len(resp.BatchItemFailures) > 0 {
			return fmt.Errorf("sweep batch: %d checks failed", len(resp.BatchItemFailures))
		}
		for _, m := range out.Messages {
			if _, err := s.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return fmt.Errorf("delete message %s: %w", aws.ToString(m.MessageId), err)
			}
		}
	}
}

// cli runs an eventwire command, wanting exit status want.
func (s *demoSweep) cli(ctx context.Context, want int, args ...string) error {
	fmt.Fprintf(s.w, "\n$ eventwire %s\n", strings.Join(args, " "))
	env := cli.Env{Stdin: strings.NewReader(""), Stdout: s.w, Stderr: s.w,
		AWSConfig: func(context.Context) (aws.Config, error) { return s.cfg, nil }}
	if code := cli.Run(ctx, args, env); code != want {
		return fmt.Errorf("eventwire %s: exit %d, want %d", args[0], code, want)
	}
	return nil
}
