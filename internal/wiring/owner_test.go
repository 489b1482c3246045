package wiring_test

import (
	"testing"

	"github.com/eventwire/eventwire/internal/wiring"
)

func TestStatementID_DeterministicAndDistinct(t *testing.T) {
	a := wiring.StatementID("apigateway.amazonaws.com", "arn:aws:execute-api:us-east-1:123456789012:abc/*/GET/x", "")
	if b := wiring.StatementID("apigateway.amazonaws.com", "arn:aws:execute-api:us-east-1:123456789012:abc/*/GET/x", ""); a != b {
		t.Errorf("same grant, different ids: %s %s", a, b)
	}
	for _, other := range []string{
		wiring.StatementID("apigateway.amazonaws.com", "arn:aws:execute-api:us-east-1:123456789012:abc/*/GET/x", "live"),
		wiring.StatementID("elasticloadbalancing.amazonaws.com", "arn:aws:execute-api:us-east-1:123456789012:abc/*/GET/x", ""),
		wiring.StatementID("apigateway.amazonaws.com", "arn:aws:execute-api:us-east-1:123456789012:abc/*/GET/y", ""),
	} {
		if other == a {
			t.Errorf("different grants share the id %s", a)
		}
	}
	if len(a) > 100 {
		t.Errorf("statement id %s is longer than the 100 characters AddPermission allows", a)
	}
}

func TestIsStatementID(t *testing.T) {
	id := wiring.StatementID("elasticloadbalancing.amazonaws.com", "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/1", "live")
	if !wiring.IsStatementID(id, "elasticloadbalancing.amazonaws.com", "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/1", "live") {
		t.Errorf("IsStatementID(%s) = false for its own grant", id)
	}
	if wiring.IsStatementID(id, "elasticloadbalancing.amazonaws.com", "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/1", "") {
		t.Errorf("IsStatementID(%s) = true for another qualifier", id)
	}
	if wiring.IsStatementID("hand-made", "elasticloadbalancing.amazonaws.com", "", "") {
		t.Error("IsStatementID(hand-made) = true")
	}
}

func TestIntegrationDescription(t *testing.T) {
	d := wiring.IntegrationDescription("arn:aws:lambda:us-east-1:123456789012:function:orders:live")
	if d != "managed by eventwire for arn:aws:lambda:us-east-1:123456789012:function:orders:live" {
		t.Errorf("IntegrationDescription = %q", d)
	}
	if !wiring.IsIntegrationDescription(d) || wiring.IsIntegrationDescription("made by hand") {
		t.Error("IsIntegrationDescription does not tell eventwire's description from another")
	}
}
