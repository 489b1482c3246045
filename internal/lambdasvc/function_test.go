package lambdasvc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/esm"
	"github.com/eventwire/eventwire/internal/plan"
)

const ordersARN = "arn:aws:lambda:us-east-1:123456789012:function:orders"

func TestSplitQualifier(t *testing.T) {
	tests := []struct{ ref, base, qualifier string }{
		{"orders", "orders", ""},
		{"orders:live", "orders", "live"},
		{"orders:$LATEST", "orders", "$LATEST"},
		{"orders:7", "orders", "7"},
		{"123456789012:function:orders", "123456789012:function:orders", ""},
		{"123456789012:function:orders:live", "123456789012:function:orders", "live"},
		{"us-east-1:123456789012:function:orders:live", "us-east-1:123456789012:function:orders", "live"},
		{ordersARN, ordersARN, ""},
		{ordersARN + ":live", ordersARN, "live"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			base, q := SplitQualifier(tt.ref)
			if base != tt.base || q != tt.qualifier {
				t.Errorf("SplitQualifier(%q) = %q, %q; want %q, %q", tt.ref, base, q, tt.base, tt.qualifier)
			}
		})
	}
}

func TestSplitFunctionARN(t *testing.T) {
	tests := []struct{ arn, unqualified, qualifier string }{
		{ordersARN, ordersARN, ""},
		{ordersARN + ":live", ordersARN, "live"},
		{ordersARN + ":$LATEST", ordersARN, ""},
		{ordersARN + ":3", ordersARN, "3"},
	}
	for _, tt := range tests {
		u, q := esm.SplitFunctionARN(tt.arn)
		if u != tt.unqualified || q != tt.qualifier {
			t.Errorf("esm.SplitFunctionARN(%q) = %q, %q; want %q, %q", tt.arn, u, q, tt.unqualified, tt.qualifier)
		}
	}
}

// getFunction answers GetFunction like AWS: a qualified FunctionArn when a
// Qualifier is given, 404 for unknown functions.
type getFunction struct{ paths []string }

func (g *getFunction) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, _ := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/2015-03-31/functions/"))
	q := r.URL.Query().Get("Qualifier")
	g.paths = append(g.paths, name+"|"+q)
	w.Header().Set("Content-Type", "application/json")
	base := name[strings.LastIndex(name, ":")+1:]
	if base != "orders" || (q != "" && q != "live") {
		w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"Type":"User","Message":"Function not found"}`))
		return
	}
	arn := ordersARN
	if q != "" {
		arn += ":" + q
	}
	json.NewEncoder(w).Encode(map[string]any{"Configuration": map[string]any{"FunctionName": "orders", "FunctionArn": arn}})
}

func TestResolve_FakeAWS(t *testing.T) {
	tests := []struct {
		ref      string
		wantSent string
		want     plan.Function
	}{
		{"orders", "orders|", plan.Function{Ref: "orders", Name: "orders", ARN: ordersARN}},
		{"orders:live", "orders|live", plan.Function{Ref: "orders:live", Name: "orders", Qualifier: "live", ARN: ordersARN}},
		{"123456789012:function:orders", "123456789012:function:orders|",
			plan.Function{Ref: "123456789012:function:orders", Name: "orders", ARN: ordersARN}},
		{ordersARN + ":live", ordersARN + "|live", plan.Function{Ref: ordersARN + ":live", Name: "orders", Qualifier: "live", ARN: ordersARN}},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			g := &getFunction{}
			got, err := NewFunctions(fakeClient(t, g)).Resolve(context.Background(), tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Resolve (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{tt.wantSent}, g.paths); diff != "" {
				t.Errorf("GetFunction requests (-want +got):\n%s", diff)
			}
		})
	}
	for _, ref := range []string{"missing", "orders:nope"} {
		_, err := NewFunctions(fakeClient(t, &getFunction{})).Resolve(context.Background(), ref)
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), ref) {
			t.Errorf("Resolve(%q): %v, want ErrNotFound naming it", ref, err)
		}
	}
}
