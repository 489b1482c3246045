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

	"github.com/eventwire/eventwire/internal/funcref"
)

const ordersARN = "arn:aws:lambda:us-east-1:123456789012:function:orders"

// getFunction answers GetFunctionConfiguration like AWS: a qualified
// FunctionArn when a Qualifier is given, 404 for unknown functions.
type getFunction struct{ paths []string }

func (g *getFunction) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutSuffix(r.URL.EscapedPath(), "/configuration")
	if !ok || r.Method != http.MethodGet {
		http.Error(w, "not GetFunctionConfiguration: "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
		return
	}
	name, _ := url.PathUnescape(strings.TrimPrefix(path, "/2015-03-31/functions/"))
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
	json.NewEncoder(w).Encode(map[string]any{"FunctionName": "orders", "FunctionArn": arn})
}

func TestResolve_FakeAWS(t *testing.T) {
	tests := []struct {
		ref      string
		wantSent string
		want     funcref.Function
	}{
		{"orders", "orders|", funcref.Function{Ref: "orders", Name: "orders", ARN: ordersARN}},
		{"orders:live", "orders|live", funcref.Function{Ref: "orders:live", Name: "orders", Qualifier: "live", ARN: ordersARN}},
		{"123456789012:function:orders", "123456789012:function:orders|",
			funcref.Function{Ref: "123456789012:function:orders", Name: "orders", ARN: ordersARN}},
		{ordersARN + ":live", ordersARN + "|live", funcref.Function{Ref: ordersARN + ":live", Name: "orders", Qualifier: "live", ARN: ordersARN}},
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
				t.Errorf("GetFunctionConfiguration requests (-want +got):\n%s", diff)
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
