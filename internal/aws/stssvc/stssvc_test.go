package stssvc_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/aws/stssvc"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// TestCaller_AsksOnce asks moto who the caller is, twice, and checks that
// STS was asked once.
func TestCaller_AsksOnce(t *testing.T) {
	srv := mototest.Shared(t)
	cfg := srv.Config(t)
	calls := mototest.Record(&cfg)
	c := stssvc.NewCaller(sts.NewFromConfig(cfg))
	for range 2 {
		got, err := c.Identity(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got.Account != mototest.Account || got.Partition != "aws" || got.ARN == "" {
			t.Errorf("Identity = %+v; want account %s, partition aws and an ARN", got, mototest.Account)
		}
	}
	if diff := cmp.Diff([]string{"STS.GetCallerIdentity"}, calls.All()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// TestCaller_FailureNotRemembered: a failed call is asked again.
func TestCaller_FailureNotRemembered(t *testing.T) {
	fail := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>expired</Message></Error></ErrorResponse>`))
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte(`<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws-cn:iam::210987654321:user/ci</Arn><UserId>AIDA</UserId><Account>210987654321</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`))
	}))
	defer srv.Close()
	c := stssvc.NewCaller(sts.New(sts.Options{
		Region: "cn-north-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1,
	}))
	if _, err := c.Identity(context.Background()); err == nil {
		t.Fatal("Identity succeeded on an expired token")
	}
	fail = false
	got, err := c.Identity(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := stssvc.Identity{Account: "210987654321", Partition: "aws-cn", ARN: "arn:aws-cn:iam::210987654321:user/ci"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Identity (-want +got):\n%s", diff)
	}
}
