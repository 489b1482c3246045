package mototest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

func TestMain(m *testing.M) { Main(m) }

func TestRecordAndReset(t *testing.T) {
	srv := Fresh(t)
	if Shared(t) != srv {
		t.Fatal("Shared returned a second server")
	}
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

// TestStartWithoutMoto needs no moto: a missing moto_server is an error
// that says how to install it.
func TestStartWithoutMoto(t *testing.T) {
	t.Setenv("MOTO_SERVER", "/nonexistent/moto_server")
	s, err := Start()
	if err == nil {
		s.Stop()
		t.Fatal("Start with a missing moto_server: no error")
	}
	if !strings.Contains(err.Error(), InstallHint) {
		t.Errorf("error = %q, want the install hint", err)
	}
}

// fatalTB records what a test would have failed with.
type fatalTB struct {
	testing.TB
	mu    sync.Mutex
	fails []string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatal(args ...any) {
	f.mu.Lock()
	f.fails = append(f.fails, fmt.Sprint(args...))
	f.mu.Unlock()
}

func TestLazyServer(t *testing.T) {
	t.Run("starts once", func(t *testing.T) {
		var starts int
		want := &Server{URL: "http://127.0.0.1:1"}
		l := &lazyServer{start: func() (*Server, error) { starts++; return want, nil }}
		tb := &fatalTB{TB: t}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if got := l.get(tb); got != want {
					t.Errorf("get = %v, want %v", got, want)
				}
			})
		}
		wg.Wait()
		if starts != 1 || len(tb.fails) != 0 {
			t.Errorf("starts = %d, fails = %q; want 1 start and no failure", starts, tb.fails)
		}
	})
	t.Run("a failed start fails every caller", func(t *testing.T) {
		var starts int
		l := &lazyServer{start: func() (*Server, error) { starts++; return nil, errors.New(InstallHint) }}
		tb := &fatalTB{TB: t}
		l.get(tb)
		l.get(tb)
		if starts != 1 || len(tb.fails) != 2 || tb.fails[1] != InstallHint {
			t.Errorf("starts = %d, fails = %q; want 1 start and the hint twice", starts, tb.fails)
		}
	})
	t.Run("stop without a start", func(t *testing.T) {
		l := &lazyServer{start: func() (*Server, error) { t.Fatal("started"); return nil, nil }}
		l.stop()
		tb := &fatalTB{TB: t}
		l.get(tb)
		if len(tb.fails) != 1 {
			t.Errorf("get after stop: fails = %q, want one", tb.fails)
		}
	})
}

func strPtr(s string) *string { return &s }

// The proxy in front of moto runs DynamoDB requests one at a time, for
// every client: here one built from the URL alone (as one from Env in
// another process would be), not by Config. The server behind the proxy
// holds each request a little, to let them overlap if they could.
func TestGuard_RunsDynamoDBRequestsOneAtATime(t *testing.T) {
	var inFlight, most atomic.Int32
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(10 * time.Millisecond)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		io.WriteString(w, "{}")
	}))
	defer backend.Close()
	s := &Server{}
	if err := s.guard(backend.URL); err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	db := dynamodb.New(dynamodb.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{
				TableName:           aws.String("t"),
				Item:                map[string]dbtypes.AttributeValue{"pk": &dbtypes.AttributeValueMemberS{Value: fmt.Sprint(i)}},
				ConditionExpression: aws.String("attribute_not_exists(pk)"),
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := most.Load(); n != 1 {
		t.Errorf("%d DynamoDB requests reached the server at once, want 1", n)
	}
}
