package mototest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

var srv *Server

func TestMain(m *testing.M) { Main(m, &srv) }

func TestRecordAndReset(t *testing.T) {
	cfg := srv.Config(t)
	calls := Record(&cfg)
	c := sqs.NewFromConfig(cfg)
	ctx := context.Background()
	if _, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: strPtr("q")}); err != nil {
		t.Fatal(err)
	}
	out, err := c.ListQueues(ctx, &sqs.ListQueuesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.QueueUrls) != 1 {
		t.Fatalf("queues = %v, want one", out.QueueUrls)
	}
	if got := calls.Writes(); len(got) != 1 || got[0] != "SQS.CreateQueue" {
		t.Errorf("writes = %v, want [SQS.CreateQueue]", got)
	}
	srv.Reset(t)
	out, err = c.ListQueues(ctx, &sqs.ListQueuesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.QueueUrls) != 0 {
		t.Errorf("after reset, queues = %v", out.QueueUrls)
	}
}

func strPtr(s string) *string { return &s }
