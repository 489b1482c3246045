package lambdasvc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/wiring"
)

// fullMapping sets every one of the 28 request fields.
const fullMapping = `{
  "AmazonManagedKafkaEventSourceConfig": {"ConsumerGroupId": "g1",
    "SchemaRegistryConfig": {"AccessConfigs": [{"Type": "BASIC_AUTH", "URI": "arn:aws:secretsmanager:us-east-1:123456789012:secret:s"}],
      "EventRecordFormat": "JSON", "SchemaRegistryURI": "https://registry.example",
      "SchemaValidationConfigs": [{"Attribute": "KEY"}, {"Attribute": "VALUE"}]}},
  "BatchSize": 50,
  "BisectBatchOnFunctionError": true,
  "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:123456789012:dlq"},
    "OnSuccess": {"Destination": "arn:aws:sns:us-east-1:123456789012:ok"}},
  "DocumentDBEventSourceConfig": {"CollectionName": "c", "DatabaseName": "d", "FullDocument": "UpdateLookup"},
  "Enabled": true,
  "EventSourceArn": "arn:aws:kafka:us-east-1:123456789012:cluster/c/1",
  "FilterCriteria": {"Filters": [{"Pattern": "{\"value\":{\"a\":[1]}}"}]},
  "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:orders",
  "FunctionResponseTypes": ["ReportBatchItemFailures"],
  "KMSKeyArn": "arn:aws:kms:us-east-1:123456789012:key/k",
  "LoggingConfig": {"SystemLogLevel": "WARN"},
  "MaximumBatchingWindowInSeconds": 5,
  "MaximumRecordAgeInSeconds": 3600,
  "MaximumRetryAttempts": 3,
  "MetricsConfig": {"Metrics": ["EventCount"]},
  "ParallelizationFactor": 2,
  "ProvisionedPollerConfig": {"MaximumPollers": 10, "MinimumPollers": 1, "PollerGroupName": "pg"},
  "Queues": ["q1"],
  "ScalingConfig": {"MaximumConcurrency": 5},
  "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["b1:9092", "b2:9092"]}},
  "SelfManagedKafkaEventSourceConfig": {"ConsumerGroupId": "g2", "ConsumptionMode": "Queue",
    "SchemaRegistryConfig": {"SchemaRegistryURI": "https://other.example"}},
  "SourceAccessConfigurations": [{"Type": "SASL_SCRAM_512_AUTH", "URI": "arn:aws:secretsmanager:us-east-1:123456789012:secret:k"}],
  "StartingPosition": "AT_TIMESTAMP",
  "StartingPositionTimestamp": 1700000000.25,
  "Tags": {"team": "payments"},
  "Topics": ["orders"],
  "TumblingWindowInSeconds": 60
}`

func full(t *testing.T) definition.Mapping {
	t.Helper()
	var m definition.Mapping
	d := json.NewDecoder(strings.NewReader(fullMapping))
	d.DisallowUnknownFields()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	v := reflect.ValueOf(m)
	if v.NumField() != 28 {
		t.Fatalf("definition.Mapping has %d fields, want the API's 28", v.NumField())
	}
	for i := 0; i < v.NumField(); i++ {
		if v.Field(i).IsZero() {
			t.Fatalf("fixture leaves %s unset", v.Type().Field(i).Name)
		}
	}
	return m
}

// TestConvert_RoundTrip sends every field of the file to the SDK's create
// request and back through what AWS reports.
func TestConvert_RoundTrip(t *testing.T) {
	m := full(t)
	in := createInput(m)
	// AWS reports the request's fields under the same names, with the
	// function's ARN and a state instead of FunctionName and Enabled.
	c := configOf(in)
	c.FunctionArn = in.FunctionName
	c.State = aws.String(wiring.StateEnabled)
	c.UUID = aws.String("u1")
	c.EventSourceMappingArn = aws.String("arn:aws:lambda:us-east-1:123456789012:event-source-mapping:u1")
	got := observed(c)

	want := m
	want.Tags = nil // not in the configuration: ListTags reads them
	if diff := cmp.Diff(want, got.Mapping); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if got.UUID != "u1" || got.ARN == "" || got.FunctionArn != *m.FunctionName || got.State != wiring.StateEnabled {
		t.Errorf("observed = %+v", got)
	}
	if diff := cmp.Diff(m.Tags, in.Tags); diff != "" {
		t.Errorf("tags of the create request (-want +got):\n%s", diff)
	}
}

// TestConvert_UpdateInput: only updatable fields go to an update, explicit
// empties survive the conversion.
func TestConvert_UpdateInput(t *testing.T) {
	m := full(t)
	in := updateInput("u1", m)
	if aws.ToString(in.UUID) != "u1" || aws.ToInt32(in.BatchSize) != 50 || in.FilterCriteria == nil {
		t.Errorf("update input = %+v", in)
	}
	empty := updateInput("u1", definition.Mapping{
		FilterCriteria:        &definition.FilterCriteria{},
		FunctionResponseTypes: []string{},
		MetricsConfig:         &definition.MetricsConfig{},
	})
	if empty.FilterCriteria == nil || empty.FilterCriteria.Filters == nil || len(empty.FilterCriteria.Filters) != 0 {
		t.Errorf("FilterCriteria = %+v, want an empty non-nil list", empty.FilterCriteria)
	}
	if empty.FunctionResponseTypes == nil || empty.MetricsConfig == nil || empty.MetricsConfig.Metrics == nil {
		t.Errorf("empties lost: %+v", empty)
	}
}

// TestConfigOf_CoversOutputs: every output that carries a mapping has all
// fields of EventSourceMappingConfiguration, so configOf loses nothing.
func TestConfigOf_CoversOutputs(t *testing.T) {
	cfg := reflect.TypeOf(types.EventSourceMappingConfiguration{})
	for _, out := range []any{
		lambda.CreateEventSourceMappingOutput{}, lambda.GetEventSourceMappingOutput{},
		lambda.UpdateEventSourceMappingOutput{}, lambda.DeleteEventSourceMappingOutput{},
	} {
		ot := reflect.TypeOf(out)
		for i := 0; i < cfg.NumField(); i++ {
			f := cfg.Field(i)
			if !f.IsExported() {
				continue
			}
			of, ok := ot.FieldByName(f.Name)
			if !ok || of.Type != f.Type {
				t.Errorf("%s has no field %s %s", ot.Name(), f.Name, f.Type)
			}
		}
	}
	uuid := "u1"
	c := configOf(&lambda.GetEventSourceMappingOutput{UUID: &uuid, BatchSize: aws.Int32(3)})
	if aws.ToString(c.UUID) != "u1" || aws.ToInt32(c.BatchSize) != 3 {
		t.Errorf("configOf = %+v", c)
	}
}

// fakeLambda is an httptest server that speaks Lambda's REST JSON protocol
// for the event source mapping operations, as AWS does (moto does not page,
// and answers an unknown UUID with 200).
type fakeLambda struct {
	mu       sync.Mutex
	requests []string // "METHOD path?query"
	bodies   map[string]string
	pages    [][]map[string]any
	tags     map[string]map[string]string
}

func (f *fakeLambda) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	key := r.Method + " " + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		key += "?" + r.URL.RawQuery
	}
	f.requests = append(f.requests, key)
	if f.bodies == nil {
		f.bodies = map[string]string{}
	}
	f.bodies[r.Method+" "+r.URL.Path] = string(body)
	w.Header().Set("Content-Type", "application/json")
	notFound := func() {
		w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"Type":"User","Message":"The resource you requested does not exist."}`)
	}
	switch {
	case r.Method == http.MethodGet && strings.TrimSuffix(r.URL.Path, "/") == "/2015-03-31/event-source-mappings":
		page := 0
		if m := r.URL.Query().Get("Marker"); m != "" {
			page = int(m[len(m)-1] - '0')
		}
		out := map[string]any{"EventSourceMappings": f.pages[page]}
		if page+1 < len(f.pages) {
			out["NextMarker"] = "page" + string(rune('0'+page+1))
		}
		json.NewEncoder(w).Encode(out)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/2017-03-31/tags/"):
		arn, _ := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/2017-03-31/tags/"))
		t, ok := f.tags[arn]
		if !ok {
			notFound()
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"Tags": t})
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/2015-03-31/event-source-mappings/"):
		uuid := strings.TrimPrefix(r.URL.Path, "/2015-03-31/event-source-mappings/")
		if msg := refusedDestination(body); msg != "" {
			w.Header().Set("X-Amzn-Errortype", "InvalidParameterValueException")
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": msg})
			return
		}
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(map[string]any{"UUID": uuid, "State": "Updating"})
	case r.Method == http.MethodDelete || r.Method == http.MethodGet:
		notFound()
	default:
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"Type":"User","Message":"unexpected request"}`)
	}
}

// refusedDestination returns AWS's refusal of an update that names an
// OnFailure or OnSuccess destination without its Destination field (an
// empty string is accepted, and removes the destination), or "".
func refusedDestination(body []byte) string {
	var req struct {
		DestinationConfig map[string]map[string]*string
	}
	json.Unmarshal(body, &req)
	for _, k := range []string{"OnFailure", "OnSuccess"} {
		if d, ok := req.DestinationConfig[k]; ok && d["Destination"] == nil {
			return "The Destination field is required for an " + k + " configuration."
		}
	}
	return ""
}

// TestUpdate_FakeAWS_DestinationWithoutFieldRefused: the fake refuses what
// AWS refuses, so the test above proves the clearing form is accepted.
func TestUpdate_FakeAWS_DestinationWithoutFieldRefused(t *testing.T) {
	_, err := NewMappings(fakeClient(t, &fakeLambda{})).Update(context.Background(), "u1", definition.Mapping{
		DestinationConfig: &definition.DestinationConfig{OnFailure: &definition.Destination{}},
	})
	if err == nil || !strings.Contains(err.Error(), "Destination field is required") {
		t.Errorf("Update: %v, want AWS's refusal", err)
	}
}

// TestCreate_FakeAWS_RoleNotReady: Lambda's refusals of an execution role
// that IAM has not propagated yet are marked ErrRoleNotReady (retried by
// the reconciler); other invalid parameters are not.
func TestCreate_FakeAWS_RoleNotReady(t *testing.T) {
	tests := []struct {
		msg  string
		want bool
	}{
		{"The provided execution role does not have permissions to call ReceiveMessage on SQS", true},
		{"The role defined for the function cannot be assumed by Lambda.", true},
		{"Please ensure the role can perform the GetRecords, GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM.", true},
		{"Unsupported MaximumBatchingWindowInSeconds parameter for given event source mapping type.", false},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Amzn-Errortype", "InvalidParameterValueException")
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": tt.msg})
			})
			_, err := NewMappings(fakeClient(t, h)).Create(context.Background(), definition.Mapping{
				EventSourceArn: aws.String("arn:aws:sqs:us-east-1:123456789012:orders"), FunctionName: aws.String("orders"),
			})
			if err == nil {
				t.Fatal("Create succeeded")
			}
			if got := errors.Is(err, ErrRoleNotReady); got != tt.want {
				t.Errorf("errors.Is(%v, ErrRoleNotReady) = %v, want %v", err, got, tt.want)
			}
		})
	}
}

func fakeClient(t *testing.T, h http.Handler) *lambda.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return lambda.New(lambda.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("k", "s", ""),
		RetryMaxAttempts: 1,
	})
}

func mappingDoc(uuid string) map[string]any {
	return map[string]any{
		"UUID": uuid, "EventSourceMappingArn": "arn:aws:lambda:us-east-1:123456789012:event-source-mapping:" + uuid,
		"FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:orders", "State": "Enabled",
		"EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q" + uuid, "BatchSize": 10,
	}
}

func TestList_FakeAWS_AllPagesWithTags(t *testing.T) {
	f := &fakeLambda{
		pages: [][]map[string]any{{mappingDoc("1"), mappingDoc("2")}, {mappingDoc("3")}, {mappingDoc("4")}},
		tags: map[string]map[string]string{
			"arn:aws:lambda:us-east-1:123456789012:event-source-mapping:1": {"eventwire:managed": "orders"},
			"arn:aws:lambda:us-east-1:123456789012:event-source-mapping:2": {},
			"arn:aws:lambda:us-east-1:123456789012:event-source-mapping:3": {"team": "x"},
			// 4 was deleted between the list and its tags: left out.
		},
	}
	got, err := NewMappings(fakeClient(t, f)).List(context.Background(), "arn:aws:lambda:us-east-1:123456789012:function:orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	var uuids []string
	tags := map[string]map[string]string{}
	for _, o := range got {
		uuids = append(uuids, o.UUID)
		tags[o.UUID] = o.Tags
	}
	if diff := cmp.Diff([]string{"1", "2", "3", "4"}, uuids); diff != "" {
		t.Errorf("mappings (-want +got):\n%s", diff)
	}
	wantTags := map[string]map[string]string{
		"1": {"eventwire:managed": "orders"}, "2": {}, "3": {"team": "x"}, "4": nil,
	}
	if diff := cmp.Diff(wantTags, tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	var lists []string
	for _, r := range f.requests {
		if strings.HasPrefix(r, "GET /2015-03-31/event-source-mappings") {
			lists = append(lists, r)
		}
	}
	fn := "FunctionName=arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aorders"
	want := []string{
		"GET /2015-03-31/event-source-mappings?" + fn,
		"GET /2015-03-31/event-source-mappings?" + fn + "&Marker=page1",
		"GET /2015-03-31/event-source-mappings?" + fn + "&Marker=page2",
	}
	if diff := cmp.Diff(want, lists); diff != "" {
		t.Errorf("list requests (-want +got):\n%s", diff)
	}
}

// TestUpdate_FakeAWS_SendsOnlyGivenFields: the request body holds exactly
// the given fields, explicit empties included.
func TestUpdate_FakeAWS_SendsOnlyGivenFields(t *testing.T) {
	f := &fakeLambda{}
	_, err := NewMappings(fakeClient(t, f)).Update(context.Background(), "u1", definition.Mapping{
		BatchSize:             aws.Int32(5),
		FilterCriteria:        &definition.FilterCriteria{Filters: []definition.Filter{}},
		ScalingConfig:         &definition.ScalingConfig{},
		DestinationConfig:     &definition.DestinationConfig{OnFailure: &definition.Destination{Destination: aws.String("")}},
		FunctionResponseTypes: []string{},
		KMSKeyArn:             aws.String(""),
	})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(f.bodies["PUT /2015-03-31/event-source-mappings/u1"]), &got); err != nil {
		t.Fatalf("body: %v", err)
	}
	want := map[string]any{
		"BatchSize":             5.0,
		"FilterCriteria":        map[string]any{"Filters": []any{}},
		"ScalingConfig":         map[string]any{},
		"DestinationConfig":     map[string]any{"OnFailure": map[string]any{"Destination": ""}},
		"FunctionResponseTypes": []any{},
		"KMSKeyArn":             "",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request body (-want +got):\n%s", diff)
	}
}

func TestUpdate_RefusesCreateOnlyFields(t *testing.T) {
	f := &fakeLambda{}
	_, err := NewMappings(fakeClient(t, f)).Update(context.Background(), "u1", definition.Mapping{
		StartingPosition: aws.String("LATEST"),
	})
	if err == nil || !strings.Contains(err.Error(), "StartingPosition cannot be updated") {
		t.Errorf("Update: %v, want a refusal naming StartingPosition", err)
	}
	if len(f.requests) != 0 {
		t.Errorf("requests sent: %v", f.requests)
	}
}

func TestDeleteAndGet_FakeAWS_NotFound(t *testing.T) {
	m := NewMappings(fakeClient(t, &fakeLambda{}))
	if err := m.Delete(context.Background(), "gone"); err != nil {
		t.Errorf("Delete of a missing mapping: %v, want success", err)
	}
	_, err := m.Get(context.Background(), "gone")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "gone") {
		t.Errorf("Get of a missing mapping: %v, want ErrNotFound naming it", err)
	}
}
