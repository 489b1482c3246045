// Package stssvc is eventwire's adapter for AWS STS: who the caller is
// (its account, partition and ARN), asked once and remembered. The
// reconciler needs the account and partition to write the ARN of a
// function that no longer exists; the CLI records the caller's ARN in its
// deployment records. GetCallerIdentity needs no IAM permission.
//
// Like every adapter under internal/aws, it imports the SDK and plain
// data, never its callers nor a test kit (internal/layers checks).
package stssvc

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// API is the slice of the STS client that Caller needs.
type API interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// Identity is the caller of the AWS credentials in use.
type Identity struct {
	Account   string
	Partition string // "aws", "aws-cn", ... (from ARN)
	ARN       string // arn:aws:sts::123456789012:assumed-role/ROLE/SESSION, ...
}

// Caller asks STS who the caller is on first use and remembers the answer
// (a failure is not remembered: the next use asks again). It is safe for
// concurrent use.
type Caller struct {
	api API

	mu  sync.Mutex
	got *Identity
}

// NewCaller returns a Caller that asks api.
func NewCaller(api API) *Caller { return &Caller{api: api} }

// Identity returns the caller's identity.
func (c *Caller) Identity(ctx context.Context) (Identity, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.got != nil {
		return *c.got, nil
	}
	out, err := c.api.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Identity{}, fmt.Errorf("get caller identity: %w", err)
	}
	id := Identity{Account: aws.ToString(out.Account), ARN: aws.ToString(out.Arn)}
	if p := strings.SplitN(id.ARN, ":", 3); len(p) == 3 && p[0] == "arn" {
		id.Partition = p[1]
	}
	if id.Account == "" || id.Partition == "" {
		return Identity{}, fmt.Errorf("get caller identity: no account or ARN in the answer (account %q, arn %q)", id.Account, id.ARN)
	}
	c.got = &id
	return id, nil
}
