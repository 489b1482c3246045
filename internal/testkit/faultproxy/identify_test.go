package faultproxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sigv4(service string) string {
	return "AWS4-HMAC-SHA256 Credential=AKID/20261201/us-east-1/" + service +
		"/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
}

func TestIdentify(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		target  string // URL path and query
		header  map[string]string
		body    string
		want    Call
		wantPro protocol
	}{
		{
			name: "lambda list mappings", method: "GET", target: "/2015-03-31/event-source-mappings/?FunctionName=f",
			header: map[string]string{"Authorization": sigv4("lambda")},
			want:   Call{"lambda", "ListEventSourceMappings"},
		},
		{
			name: "lambda create mapping", method: "POST", target: "/2015-03-31/event-source-mappings/",
			want: Call{"lambda", "CreateEventSourceMapping"},
		},
		{
			name: "lambda get mapping", method: "GET", target: "/2015-03-31/event-source-mappings/6c9a6bd5-0b7d-4a3e-9c1e-1a2b3c4d5e6f",
			want: Call{"lambda", "GetEventSourceMapping"},
		},
		{
			name: "lambda update mapping", method: "PUT", target: "/2015-03-31/event-source-mappings/6c9a6bd5",
			want: Call{"lambda", "UpdateEventSourceMapping"},
		},
		{
			name: "lambda get function", method: "GET", target: "/2015-03-31/functions/orders",
			want: Call{"lambda", "GetFunction"},
		},
		{
			name: "lambda get function by arn", method: "GET", target: "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aorders",
			want: Call{"lambda", "GetFunction"},
		},
		{
			name: "lambda get policy", method: "GET", target: "/2015-03-31/functions/orders/policy?Qualifier=live",
			want: Call{"lambda", "GetPolicy"},
		},
		{
			name: "lambda add permission", method: "POST", target: "/2015-03-31/functions/orders/policy",
			want: Call{"lambda", "AddPermission"},
		},
		{
			name: "lambda remove permission", method: "DELETE", target: "/2015-03-31/functions/orders/policy/sid-1",
			want: Call{"lambda", "RemovePermission"},
		},
		{
			name: "lambda list tags", method: "GET", target: "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Aevent-source-mapping%3Aabc",
			want: Call{"lambda", "ListTags"},
		},
		{
			name: "lambda tag", method: "POST", target: "/2017-03-31/tags/arn",
			want: Call{"lambda", "TagResource"},
		},
		{
			name: "lambda list aliases", method: "GET", target: "/2015-03-31/functions/orders/aliases",
			want: Call{"lambda", "ListAliases"},
		},
		{
			name: "lambda layers by query", method: "GET", target: "/2018-10-31/layers?find=LayerVersion&Arn=x",
			want: Call{"lambda", "GetLayerVersionByArn"},
		},
		{
			name: "lambda layers", method: "GET", target: "/2018-10-31/layers",
			want: Call{"lambda", "ListLayers"},
		},
		{
			name: "api gateway get routes", method: "GET", target: "/v2/apis/a1b2c3/routes",
			header: map[string]string{"Authorization": sigv4("apigateway")},
			want:   Call{"apigateway", "GetRoutes"},
		},
		{
			name: "api gateway update route", method: "PATCH", target: "/v2/apis/a1b2c3/routes/r1",
			want: Call{"apigateway", "UpdateRoute"},
		},
		{
			name: "api gateway create integration", method: "POST", target: "/v2/apis/a1b2c3/integrations",
			want: Call{"apigateway", "CreateIntegration"},
		},
		{
			name: "elbv2 by form body", method: "POST", target: "/",
			header:  map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Authorization": sigv4("elasticloadbalancing")},
			body:    "Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=x",
			want:    Call{"elasticloadbalancing", "DescribeTargetHealth"},
			wantPro: awsQuery,
		},
		{
			name: "elbv2 unsigned by version", method: "POST", target: "/",
			header:  map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			body:    "Action=RegisterTargets&Version=2015-12-01",
			want:    Call{"elasticloadbalancing", "RegisterTargets"},
			wantPro: awsQuery,
		},
		{
			name: "iam by query string", method: "GET", target: "/?Action=GetRole&Version=2010-05-08",
			want: Call{"iam", "GetRole"}, wantPro: awsQuery,
		},
		{
			name: "sqs json", method: "POST", target: "/",
			header:  map[string]string{"X-Amz-Target": "AmazonSQS.CreateQueue", "Content-Type": "application/x-amz-json-1.0"},
			want:    Call{"sqs", "CreateQueue"},
			wantPro: awsJSON,
		},
		{
			name: "dynamodb", method: "POST", target: "/",
			header:  map[string]string{"X-Amz-Target": "DynamoDB_20120810.PutItem", "Authorization": sigv4("dynamodb")},
			want:    Call{"dynamodb", "PutItem"},
			wantPro: awsJSON,
		},
		{
			name: "s3 by x-id", method: "GET", target: "/bucket/key.json?x-id=GetObject",
			header: map[string]string{"Authorization": sigv4("s3")},
			want:   Call{"s3", "GetObject"}, wantPro: restXML,
		},
		{
			name: "s3 versioning", method: "PUT", target: "/bucket?versioning",
			header: map[string]string{"Authorization": sigv4("s3")},
			want:   Call{"s3", "PutBucketVersioning"}, wantPro: restXML,
		},
		{
			name: "s3 list v2", method: "GET", target: "/bucket?list-type=2&prefix=a",
			header: map[string]string{"Authorization": sigv4("s3")},
			want:   Call{"s3", "ListObjectsV2"}, wantPro: restXML,
		},
		{
			name: "s3 head object", method: "HEAD", target: "/bucket/a/b",
			header: map[string]string{"Authorization": sigv4("s3")},
			want:   Call{"s3", "HeadObject"}, wantPro: restXML,
		},
		{
			name: "s3 form upload keeps its body", method: "PUT", target: "/bucket/form",
			header: map[string]string{"Authorization": sigv4("s3"), "Content-Type": "application/x-www-form-urlencoded"},
			body:   "Action=NotAnAction",
			want:   Call{"s3", "PutObject"}, wantPro: restXML,
		},
		{
			name: "unknown", method: "GET", target: "/somewhere",
			want: Call{"unknown", "GET /somewhere"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			got, pro := identify(r)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("call (-want +got):\n%s", diff)
			}
			if pro != tt.wantPro {
				t.Errorf("protocol = %d, want %d", pro, tt.wantPro)
			}
			rest, _ := io.ReadAll(r.Body)
			if string(rest) != tt.body {
				t.Errorf("body after identify = %q, want %q", rest, tt.body)
			}
		})
	}
}

func TestSigningService(t *testing.T) {
	tests := map[string]string{
		sigv4("lambda"): "lambda",
		"AWS4-ECDSA-P256-SHA256 Credential=AKID/20261201/s3/aws4_request, SignedHeaders=host": "s3",
		"Bearer abc":                       "",
		"AWS4-HMAC-SHA256 Credential=AKID": "",
		"":                                 "",
	}
	for auth, want := range tests {
		if got := signingService(auth); got != want {
			t.Errorf("signingService(%q) = %q, want %q", auth, got, want)
		}
	}
}

func TestDefaultBucket(t *testing.T) {
	tests := []struct {
		call Call
		want string
	}{
		{Call{"lambda", "ListEventSourceMappings"}, BucketLambda},
		{Call{"lambda", "AddPermission"}, BucketLambda},
		{Call{"lambda", "GetFunction"}, BucketLambdaGetFunction},
		{Call{"lambda", "GetPolicy"}, BucketLambdaGetPolicy},
		{Call{"lambda", "Invoke"}, ""},
		{Call{"apigateway", "GetIntegrations"}, BucketAPIGateway},
		{Call{"elasticloadbalancing", "DescribeTargetHealth"}, BucketELBDescribe},
		{Call{"elasticloadbalancing", "RegisterTargets"}, BucketELBMutate},
		{Call{"sqs", "CreateQueue"}, ""},
	}
	for _, tt := range tests {
		if got := DefaultBucket(tt.call); got != tt.want {
			t.Errorf("DefaultBucket(%v) = %q, want %q", tt.call, got, tt.want)
		}
	}
}

var _ http.Handler = (*Proxy)(nil)
