package faultproxy

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Call is an AWS operation as the proxy sees it on the wire.
type Call struct {
	// Service is the SigV4 signing name: lambda, apigateway (API Gateway v2
	// too), elasticloadbalancing, sqs, s3, dynamodb, kinesis, iam, sts.
	Service string
	// Operation is the API operation (GetFunction). A request the proxy
	// cannot name has its method and path here.
	Operation string
}

func (c Call) String() string { return c.Service + "." + c.Operation }

// matches reports whether c fits pattern, whose empty fields match anything.
func (c Call) matches(pattern Call) bool {
	return (pattern.Service == "" || pattern.Service == c.Service) &&
		(pattern.Operation == "" || pattern.Operation == c.Operation)
}

// protocol is the wire protocol of a call, which decides the shape of the
// errors the proxy answers with.
type protocol int

const (
	restJSON protocol = iota // Lambda, API Gateway
	awsJSON                  // X-Amz-Target: DynamoDB, Kinesis, SQS
	awsQuery                 // Action=: ELBv2, IAM, STS
	restXML                  // S3
)

// Identify names the call r makes: from the service in its SigV4 credential
// scope, then its X-Amz-Target header, its Action form field (a form body is
// read and put back) or its REST method and path.
func Identify(r *http.Request) Call {
	c, _ := identify(r)
	return c
}

func identify(r *http.Request) (Call, protocol) {
	svc := signingService(r.Header.Get("Authorization"))
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		// DynamoDB_20120810.PutItem, Kinesis_20131202.CreateStream,
		// AmazonSQS.SendMessage.
		prefix, op := "", t
		if i := strings.LastIndex(t, "."); i >= 0 {
			prefix, op = t[:i], t[i+1:]
		}
		if svc == "" {
			svc = targetServices[strings.SplitN(prefix, "_", 2)[0]]
		}
		return Call{Service: orUnknown(svc), Operation: op}, awsJSON
	}
	if svc != "s3" {
		if action, version := queryAction(r); action != "" {
			if svc == "" {
				svc = queryServices[version]
			}
			return Call{Service: orUnknown(svc), Operation: action}, awsQuery
		}
	}
	if svc == "" || svc == "lambda" || svc == "apigateway" {
		if rt, ok := matchRoute(svc, r); ok {
			return Call{Service: rt.service, Operation: rt.op}, restJSON
		}
	}
	if svc == "s3" {
		return Call{Service: svc, Operation: s3Operation(r)}, restXML
	}
	return Call{Service: orUnknown(svc), Operation: r.Method + " " + r.URL.Path}, restJSON
}

func orUnknown(svc string) string {
	if svc == "" {
		return "unknown"
	}
	return svc
}

// targetServices maps X-Amz-Target prefixes (before the version) to
// signing names, for unsigned requests.
var targetServices = map[string]string{
	"DynamoDB":        "dynamodb",
	"DynamoDBStreams": "dynamodb",
	"Kinesis":         "kinesis",
	"AmazonSQS":       "sqs",
	"CodeCommit":      "codecommit",
	"CodePipeline":    "codepipeline",
}

// queryServices maps the Version of query-protocol requests to signing
// names, for unsigned requests.
var queryServices = map[string]string{
	"2015-12-01": "elasticloadbalancing",
	"2012-06-01": "elasticloadbalancing", // ELB v1
	"2010-05-08": "iam",
	"2011-06-15": "sts",
	"2012-11-05": "sqs",
	"2010-05-15": "cloudformation",
}

// signingService returns the service of a SigV4 (or SigV4a) Authorization
// header's credential scope: Credential=AKID/date/region/service/aws4_request.
func signingService(auth string) string {
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) < 4 || parts[len(parts)-1] != "aws4_request" {
		return ""
	}
	return parts[len(parts)-2]
}

// queryAction returns the Action and Version of a query-protocol request,
// from the URL or a form body, which it puts back.
func queryAction(r *http.Request) (action, version string) {
	if q := r.URL.Query(); q.Get("Action") != "" {
		return q.Get("Action"), q.Get("Version")
	}
	if r.Body == nil || r.Body == http.NoBody ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return "", ""
	}
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil {
		return "", ""
	}
	form, err := url.ParseQuery(string(b))
	if err != nil {
		return "", ""
	}
	return form.Get("Action"), form.Get("Version")
}

// restRoute is one REST operation; see restRoutes.
type restRoute struct{ service, method, path, op string }

// parsedRoute is a restRoute split for matching.
type parsedRoute struct {
	restRoute
	segs       []string // "" for a {label}
	literals   int
	qkey, qval string
}

var (
	parseOnce sync.Once
	parsed    []parsedRoute
)

func parseRoutes() {
	for _, rt := range restRoutes {
		p := parsedRoute{restRoute: rt}
		path, query, _ := strings.Cut(rt.path, "?")
		p.qkey, p.qval, _ = strings.Cut(query, "=")
		for _, s := range splitPath(path) {
			if strings.HasPrefix(s, "{") {
				s = ""
			} else {
				p.literals++
			}
			p.segs = append(p.segs, s)
		}
		parsed = append(parsed, p)
	}
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// matchRoute finds the REST operation of r among those of svc (all when
// svc is empty); where several match, the one with the most literal
// segments wins.
func matchRoute(svc string, r *http.Request) (restRoute, bool) {
	parseOnce.Do(parseRoutes)
	segs := splitPath(r.URL.EscapedPath())
	var q url.Values
	best, bestScore := restRoute{}, -1
	for _, p := range parsed {
		if p.method != r.Method || (svc != "" && p.service != svc) || len(p.segs) != len(segs) {
			continue
		}
		ok := true
		for i, s := range p.segs {
			if (s == "" && segs[i] == "") || (s != "" && s != segs[i]) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		score := p.literals * 2
		if p.qkey != "" {
			if q == nil {
				q = r.URL.Query()
			}
			if q.Get(p.qkey) != p.qval {
				continue
			}
			score++
		}
		if score > bestScore {
			best, bestScore = p.restRoute, score
		}
	}
	return best, bestScore >= 0
}

// s3BucketSub names bucket subresources' operations: Get/Put/Delete +
// "Bucket" + the name.
var s3BucketSub = map[string]string{
	"versioning": "Versioning", "tagging": "Tagging", "policy": "Policy",
	"lifecycle": "LifecycleConfiguration", "notification": "NotificationConfiguration",
	"cors": "Cors", "encryption": "Encryption", "acl": "Acl", "location": "Location",
}

// s3Operation names a path-style S3 request. The SDK names most
// operations itself in an x-id query parameter.
func s3Operation(r *http.Request) string {
	q := r.URL.Query()
	if id := q.Get("x-id"); id != "" {
		return id
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	verb := map[string]string{"GET": "Get", "PUT": "Put", "DELETE": "Delete"}[r.Method]
	switch {
	case bucket == "" && r.Method == http.MethodGet:
		return "ListBuckets"
	case key == "":
		for sub, name := range s3BucketSub {
			if q.Has(sub) && verb != "" {
				return verb + "Bucket" + name
			}
		}
		switch {
		case r.Method == http.MethodGet && q.Has("versions"):
			return "ListObjectVersions"
		case r.Method == http.MethodGet && q.Get("list-type") == "2":
			return "ListObjectsV2"
		case r.Method == http.MethodGet:
			return "ListObjects"
		case r.Method == http.MethodPost && q.Has("delete"):
			return "DeleteObjects"
		case r.Method == http.MethodPut:
			return "CreateBucket"
		case r.Method == http.MethodDelete:
			return "DeleteBucket"
		case r.Method == http.MethodHead:
			return "HeadBucket"
		}
	default:
		switch {
		case q.Has("tagging") && verb != "":
			return verb + "ObjectTagging"
		case r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "":
			return "CopyObject"
		case r.Method == http.MethodHead:
			return "HeadObject"
		case verb != "":
			return verb + "Object"
		}
	}
	return r.Method + " " + r.URL.Path
}
