package funcref_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/funcref"
)

const ordersARN = "arn:aws:lambda:us-east-1:123456789012:function:orders"

// TestParse covers every form the Lambda API documents for FunctionName
// (name, name with alias or version, partial ARN, ARN, qualified ARN) and
// forms it refuses.
func TestParse(t *testing.T) {
	full := funcref.Ref{Partition: "aws", Region: "us-east-1", Account: "123456789012", Name: "orders"}
	withQ := func(r funcref.Ref, q string) funcref.Ref { r.Qualifier = q; return r }
	tests := []struct {
		ref  string
		want funcref.Ref
	}{
		{"orders", funcref.Ref{Name: "orders"}},
		{"my.function_v-2", funcref.Ref{Name: "my.function_v-2"}},
		{"orders:live", funcref.Ref{Name: "orders", Qualifier: "live"}},
		{"orders:7", funcref.Ref{Name: "orders", Qualifier: "7"}},
		{"orders:$LATEST", funcref.Ref{Name: "orders", Qualifier: "$LATEST"}},
		{"orders:$LATEST.PUBLISHED", funcref.Ref{Name: "orders", Qualifier: "$LATEST.PUBLISHED"}},
		{"function:orders", funcref.Ref{Name: "orders"}},
		{"123456789012:live", funcref.Ref{Name: "123456789012", Qualifier: "live"}},
		{"123456789012:function:orders", funcref.Ref{Account: "123456789012", Name: "orders"}},
		{"123456789012:function:orders:live", funcref.Ref{Account: "123456789012", Name: "orders", Qualifier: "live"}},
		{"us-east-1:123456789012:function:orders:live", funcref.Ref{Region: "us-east-1", Account: "123456789012", Name: "orders", Qualifier: "live"}},
		{ordersARN, full},
		{ordersARN + ":live", withQ(full, "live")},
		{ordersARN + ":3", withQ(full, "3")},
		{ordersARN + ":$LATEST", withQ(full, "$LATEST")},
		{"arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:orders",
			funcref.Ref{Partition: "aws-us-gov", Region: "us-gov-west-1", Account: "123456789012", Name: "orders"}},
		{"arn:aws-iso-b:lambda:us-isob-east-1:123456789012:function:orders",
			funcref.Ref{Partition: "aws-iso-b", Region: "us-isob-east-1", Account: "123456789012", Name: "orders"}},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, err := funcref.Parse(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
			if got.String() != tt.ref && tt.ref != "function:orders" {
				t.Errorf("String() = %q, want %q", got.String(), tt.ref)
			}
			if funcref.Name(tt.ref) != tt.want.Name {
				t.Errorf("Name(%q) = %q, want %q", tt.ref, funcref.Name(tt.ref), tt.want.Name)
			}
		})
	}
}

func TestParse_Invalid(t *testing.T) {
	for _, ref := range []string{
		"",
		"orders function",
		"orders:live:7",
		"orders:li/ve",
		"us-east-1:orders",
		"us-east-1:123456789012:orders",
		"arn::lambda:us-east-1:123456789012:function:orders",
		"arn:aws:lambda:us-east-1:123456789012:function:",
		ordersARN + ":live:7",
		"arn:aws:s3:::bucket",
	} {
		t.Run(ref, func(t *testing.T) {
			if r, err := funcref.Parse(ref); !errors.Is(err, funcref.ErrInvalid) {
				t.Errorf("Parse(%q) = %+v, %v; want ErrInvalid", ref, r, err)
			}
			if got := funcref.Name(ref); got != ref {
				t.Errorf("Name(%q) = %q, want it unchanged", ref, got)
			}
		})
	}
}

func TestRef_ARN(t *testing.T) {
	tests := []struct {
		ref, arn, qualified string
	}{
		{"orders", ordersARN, ordersARN},
		{"orders:live", ordersARN, ordersARN + ":live"},
		{"123456789012:function:orders:7", ordersARN, ordersARN + ":7"},
		{"210987654321:function:orders", "arn:aws:lambda:us-east-1:210987654321:function:orders", "arn:aws:lambda:us-east-1:210987654321:function:orders"},
		{"arn:aws-cn:lambda:cn-north-1:123456789012:function:orders:live",
			"arn:aws-cn:lambda:cn-north-1:123456789012:function:orders", "arn:aws-cn:lambda:cn-north-1:123456789012:function:orders:live"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			r, err := funcref.Parse(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.ARN("aws", "us-east-1", "123456789012"); got != tt.arn {
				t.Errorf("ARN = %q, want %q", got, tt.arn)
			}
			if got := r.QualifiedARN("aws", "us-east-1", "123456789012"); got != tt.qualified {
				t.Errorf("QualifiedARN = %q, want %q", got, tt.qualified)
			}
			if got := r.Unqualified().QualifiedARN("aws", "us-east-1", "123456789012"); got != tt.arn {
				t.Errorf("Unqualified().QualifiedARN = %q, want %q", got, tt.arn)
			}
		})
	}
}

func TestRef_Equal(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"orders", "orders", true},
		{"orders", ordersARN, true},
		{"orders", "orders:$LATEST", true},
		{ordersARN, ordersARN + ":$LATEST", true},
		{"orders:live", ordersARN + ":live", true},
		{"123456789012:function:orders", ordersARN, true},
		{"orders", "orders:live", false},
		{"orders:live", "orders:canary", false},
		{"orders", "payments", false},
		{"210987654321:function:orders", ordersARN, false},
		{ordersARN, "arn:aws:lambda:eu-west-1:123456789012:function:orders", false},
	}
	for _, tt := range tests {
		t.Run(tt.a+"="+tt.b, func(t *testing.T) {
			a, errA := funcref.Parse(tt.a)
			b, errB := funcref.Parse(tt.b)
			if err := errors.Join(errA, errB); err != nil {
				t.Fatal(err)
			}
			if a.Equal(b) != tt.want || b.Equal(a) != tt.want {
				t.Errorf("Equal = %v, want %v", a.Equal(b), tt.want)
			}
		})
	}
}

func TestFunction_Is(t *testing.T) {
	orders := funcref.Function{Ref: "orders", Name: "orders", ARN: ordersARN}
	live := funcref.Function{Ref: "orders:live", Name: "orders", Qualifier: "live", ARN: ordersARN}
	latest := funcref.Function{Ref: "orders:$LATEST", Name: "orders", Qualifier: "$LATEST", ARN: ordersARN}
	byName := funcref.Function{Ref: "orders", Name: "orders"}
	tests := []struct {
		fn   funcref.Function
		arn  string
		want bool
	}{
		{orders, ordersARN, true},
		{orders, ordersARN + ":$LATEST", true},
		{orders, ordersARN + ":live", false},
		{live, ordersARN + ":live", true},
		{live, ordersARN, false},
		{latest, ordersARN, true},
		{orders, "arn:aws:lambda:us-east-1:210987654321:function:orders", false},
		{orders, "arn:aws:lambda:us-east-1:123456789012:function:payments", false},
		{byName, "arn:aws:lambda:us-east-1:210987654321:function:orders", true},
		{byName, "arn:aws:lambda:us-east-1:210987654321:function:orders:live", false},
		{orders, "not an arn", false},
	}
	for _, tt := range tests {
		t.Run(tt.fn.Ref+" "+tt.arn, func(t *testing.T) {
			if got := tt.fn.Is(tt.arn); got != tt.want {
				t.Errorf("Is = %v, want %v", got, tt.want)
			}
		})
	}
	if got := live.QualifiedARN(); got != ordersARN+":live" {
		t.Errorf("QualifiedARN = %q", got)
	}
	if got := live.At("canary"); got != ordersARN+":canary" {
		t.Errorf("At(canary) = %q", got)
	}
	if got := live.At(""); got != ordersARN {
		t.Errorf("At(\"\") = %q", got)
	}
}

// TestCheck: Parse within the API's lengths (a reference of 256
// characters, a name of 64).
func TestCheck(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		ref  string
		want string // the name, or "" when refused
	}{
		{"orders:live", "orders"},
		{long(64), long(64)},
		{long(65), ""},
		{long(3000), ""},
		{"arn:aws:lambda:us-east-1:123456789012:function:" + long(64) + ":" + long(128), long(64)},
		{"arn:aws:lambda:us-east-1:123456789012:function:" + long(64) + ":" + long(200), ""},
		{"orders!", ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.30s (%d)", tt.ref, len(tt.ref)), func(t *testing.T) {
			r, err := funcref.Check(tt.ref)
			if tt.want == "" {
				if !errors.Is(err, funcref.ErrInvalid) {
					t.Errorf("Check: err = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil || r.Name != tt.want {
				t.Errorf("Check = %q, %v; want name %q", r.Name, err, tt.want)
			}
		})
	}
}
