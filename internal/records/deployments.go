package records

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/eventwire/eventwire/internal/funcref"
	"github.com/eventwire/eventwire/internal/plan"
)

// Trigger is what started a run.
type Trigger string

const (
	TriggerS3           Trigger = "s3"
	TriggerCodeCommit   Trigger = "codecommit"
	TriggerCodePipeline Trigger = "codepipeline"
	// TriggerCLI: `eventwire apply` or `eventwire destroy` with a table.
	TriggerCLI Trigger = "cli"
)

// Mode is what a run did with the file.
type Mode string

const (
	ModeApply   Mode = "apply"
	ModePlan    Mode = "plan"
	ModeDestroy Mode = "destroy"
)

// Outcome is how a run ended.
type Outcome string

const (
	// Succeeded: the plan was applied (or was empty).
	Succeeded Outcome = "succeeded"
	// Planned: the plan was made and not applied (plan mode).
	Planned Outcome = "planned"
	// Invalid: the file did not validate; nothing was sent to AWS. Final.
	Invalid Outcome = "invalid"
	// Failed: AWS refused or failed; the run is retried.
	Failed Outcome = "failed"
	// Conflict: nothing was sent to AWS, final. Either the file declares
	// a function that another live file declares (DeclaredBy), or its
	// plan named a target group or route held by something eventwire does
	// not own for the function, and takeovers are not allowed (Errors
	// name the owner).
	Conflict Outcome = "conflict"
	// Refused: AWS refused a change that the deployer's role may not make
	// (a target group without the tag its policy asks for); what came
	// before it in the plan may have been applied. Final: retrying cannot
	// help until the operator allows it.
	Refused Outcome = "refused"
)

// Record is one deployment run for one function.
type Record struct {
	// Function is the bare function name (FunctionKey of the reference),
	// or "" when a file too broken to name one failed.
	Function string
	// ID identifies the run; set by PutRecord when empty.
	ID string
	// Start and Duration of the run.
	Start    time.Time
	Duration time.Duration
	Trigger  Trigger
	// Source says where the file came from: s3://BUCKET/KEY?versionId=V,
	// codecommit://REPO/PATH@COMMIT, codepipeline://JOB/ARTIFACT/PATH.
	Source string
	// FunctionRef is the function as the file names it.
	FunctionRef string
	Mode        Mode
	Outcome     Outcome
	// Plan is the plan's text (plan.Plan.String), PlanJSON its JSON form.
	Plan     string
	PlanJSON string
	// Changes counts the plan's actions that write to AWS.
	Changes int
	Errors  []string
	// RequestID is the Lambda request id of the run, if any.
	RequestID string
	// Caller is who ran it, when known: the AWS caller ARN of a CLI run.
	Caller string
	// DeclaredBy is, for a conflict, the live file that declares the
	// function (as Source names files).
	DeclaredBy string
	// SweepID is, for a drift check (TriggerSweep), the sweep's id.
	SweepID string
}

// unknownFunction is the partition of records whose file named no function.
const unknownFunction = "-"

// timeLayout is RFC 3339 with a fixed number of fractional digits, so that
// sort keys order by time as strings (RFC3339Nano trims trailing zeros).
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func recordPK(function string) string {
	if function == "" {
		function = unknownFunction
	}
	return "function#" + function
}

// boundRef cuts a function reference that no API would accept to what
// a record keeps of it: funcref.MaxLength bytes (on a rune boundary) and
// a mark.
func boundRef(ref string) string {
	if len(ref) <= funcref.MaxLength {
		return ref
	}
	cut := funcref.MaxLength
	for cut > 0 && !utf8.RuneStart(ref[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes)", ref[:cut], len(ref))
}

// NewID returns a random run id.
func NewID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// PutRecord writes a deployment record. It sets r.ID if empty and returns
// the record as written.
func (s *Store) PutRecord(ctx context.Context, r Record) (Record, error) {
	if r.ID == "" {
		r.ID = NewID()
	}
	// Whatever the caller gives, the key is a function name or "".
	r.Function = FunctionKey(r.Function)
	if r.Start.IsZero() {
		r.Start = s.now()
	}
	start := r.Start.UTC()
	item := map[string]types.AttributeValue{
		attrPK:         str(recordPK(r.Function)),
		attrSK:         str("deploy#" + start.Format(timeLayout) + "#" + r.ID),
		attrExpires:    num(start.Add(s.retention).Unix()),
		"type":         str("deployment"),
		"function":     str(r.Function),
		"id":           str(r.ID),
		"started_at":   str(start.Format(timeLayout)),
		"duration_ms":  num(r.Duration.Milliseconds()),
		"trigger":      str(string(r.Trigger)),
		"source":       str(r.Source),
		"function_ref": str(boundRef(r.FunctionRef)),
		"mode":         str(string(r.Mode)),
		"outcome":      str(string(r.Outcome)),
		"plan":         str(r.Plan),
		"plan_json":    str(r.PlanJSON),
		"changes":      num(int64(r.Changes)),
		"request_id":   str(r.RequestID),
		"caller":       str(r.Caller),
		"declared_by":  str(r.DeclaredBy),
		"sweep_id":     str(r.SweepID),
	}
	r.Errors = boundErrors(r.Errors)
	if len(r.Errors) > 0 {
		l := make([]types.AttributeValue, len(r.Errors))
		for i, e := range r.Errors {
			l[i] = str(e)
		}
		item["errors"] = &types.AttributeValueMemberL{Value: l}
	}
	// DynamoDB refuses empty strings in key attributes only, but empty
	// values add nothing: leave them out.
	dropEmpty(item)
	_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item})
	if err != nil {
		return r, fmt.Errorf("put deployment record %s of function %s into table %s: %w", r.ID, r.Function, s.table, err)
	}
	return r, nil
}

// maxErrorBytes bounds the errors of one record: a DynamoDB item holds at
// most 400 KB, and the plan's text and JSON may take up to 150 KB each
// (see internal/deployer). A file can have thousands of errors; a record
// that cannot be written would turn a final validation failure into a
// retried one.
const maxErrorBytes = 64 << 10

// boundErrors keeps the errors that fit in maxErrorBytes and says how
// many were left out.
func boundErrors(errs []string) []string {
	total := 0
	for i, e := range errs {
		if total+len(e) > maxErrorBytes {
			out := append([]string(nil), errs[:i]...)
			return append(out, fmt.Sprintf("... and %d more error(s), not kept in the record", len(errs)-i))
		}
		total += len(e)
	}
	return errs
}

// History returns the function's deployment records, newest first, at most
// limit of them (all if limit <= 0).
func (s *Store) History(ctx context.Context, function string, limit int) ([]Record, error) {
	var out []Record
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames: map[string]string{
			"#pk": attrPK, "#sk": attrSK,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":     str(recordPK(FunctionKey(function))),
			":prefix": str("deploy#"),
		},
		ScanIndexForward: aws.Bool(false),
		ConsistentRead:   aws.Bool(true),
	}
	for {
		if limit > 0 {
			in.Limit = aws.Int32(int32(min(limit-len(out), math.MaxInt32)))
		}
		page, err := s.api.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("query deployment records of function %s in table %s: %w", function, s.table, err)
		}
		for _, item := range page.Items {
			out = append(out, decodeRecord(item))
		}
		if len(page.LastEvaluatedKey) == 0 || (limit > 0 && len(out) >= limit) {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	return out, nil
}

func decodeRecord(item map[string]types.AttributeValue) Record {
	r := Record{
		Function:    getS(item, "function"),
		ID:          getS(item, "id"),
		Duration:    time.Duration(getN(item, "duration_ms")) * time.Millisecond,
		Trigger:     Trigger(getS(item, "trigger")),
		Source:      getS(item, "source"),
		FunctionRef: getS(item, "function_ref"),
		Mode:        Mode(getS(item, "mode")),
		Outcome:     Outcome(getS(item, "outcome")),
		Plan:        getS(item, "plan"),
		PlanJSON:    getS(item, "plan_json"),
		Changes:     int(getN(item, "changes")),
		Errors:      getList(item, "errors"),
		RequestID:   getS(item, "request_id"),
		Caller:      getS(item, "caller"),
		DeclaredBy:  getS(item, "declared_by"),
		SweepID:     getS(item, "sweep_id"),
	}
	if t, err := time.Parse(timeLayout, getS(item, "started_at")); err == nil {
		r.Start = t
	}
	if r.Function == "" {
		r.Function = strings.TrimPrefix(getS(item, attrPK), "function#")
	}
	return r
}

// maxPlanBytes bounds the plan's text and JSON in a record (a DynamoDB item
// holds at most 400 KB).
const maxPlanBytes = 150 << 10

// SetPlan puts the plan's text, its JSON (each cut at maxPlanBytes) and
// its number of changes in the record.
func (r *Record) SetPlan(p *plan.Plan) {
	r.Plan = truncate(p.String(), maxPlanBytes)
	if b, err := json.Marshal(p); err == nil {
		r.PlanJSON = truncate(string(b), maxPlanBytes)
	}
	for _, a := range p.Actions {
		if a.Kind.IsChange() {
			r.Changes++
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "\n... (truncated)"
}
