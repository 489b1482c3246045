package records

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Drift detection's items (the sweep: internal/deployer's sweep.go).
//
//	known function  pk "sweep#functions"  sk FUNCTION  a function the index has seen declared
//	latest sweep    pk "sweep#latest"     sk "sweep"   the sweep last started
//	latest result   pk "drift#latest"     sk FUNCTION  the function's latest check
//	drift record    pk "function#NAME"    sk "deploy#<start>#<id>"  a Record, Trigger "sweep"
//
// FUNCTION is a declaration key (DeclKey): "orders", "orders:live".
//
// A known function item has "function", "sources" (a string set of the
// ids of the live sources declaring it: empty, and so absent, when none
// does) and, once a declaration was applied, the source last applied
// (the Source attributes, as in a declaration item). The index adds and
// removes sources in the transaction of each change (Store.Index), and
// SetActive records the source applied; the sweep forgets a function
// (ForgetFunction) once nothing declares it and nothing of it is left in
// AWS. A query of the partition lists every function to check, with no
// scan of the table.
//
// The latest sweep item has "sweep_id", "started_at" (timeLayout),
// "functions", "declared" and "orphans" (numbers: the messages enqueued).
//
// A latest result item has "function", "sweep_id", "sweep_started",
// "checked_at" (timeLayout), "kind" ("declared" or "orphan"), "outcome"
// (see DriftResult), "source", "plan", "plan_json", "changes" (number),
// "errors" (list of strings, absent if none) and "record_id" (the id of
// the drift record in the function's history).

// Outcomes of a drift check. Failed and Invalid are also used.
const (
	// InSync: AWS matches the file.
	InSync Outcome = "in-sync"
	// Drifted: AWS differs from the file; the plan says how (report only).
	Drifted Outcome = "drifted"
	// Orphaned: eventwire's resources are left of a function that no live
	// file declares; the plan says what pruning would remove.
	Orphaned Outcome = "orphaned"
	// Healed: AWS differed from the file and the plan was applied.
	Healed Outcome = "healed"
	// Pruned: an orphan's resources that eventwire owns were removed.
	Pruned Outcome = "pruned"
)

// TriggerSweep: a drift check of the sweep (the Record's Mode is
// ModeCheck for a report, ModeApply for a heal, ModeDestroy for a prune).
const TriggerSweep Trigger = "sweep"

// ModeCheck: the sweep planned and reported, changing nothing.
const ModeCheck Mode = "check"

// Kinds of drift check.
const (
	// KindDeclared: a function that a live file declares, checked
	// against that file.
	KindDeclared = "declared"
	// KindOrphan: a function that no live file declares, whose resources
	// eventwire owns may be left in AWS.
	KindOrphan = "orphan"
)

const (
	knownPK       = "sweep#functions"
	sweepPK       = "sweep#latest"
	sweepSK       = "sweep"
	driftLatestPK = "drift#latest"
	attrSources   = "sources"
)

// KnownFunction is a function the index has seen declared.
type KnownFunction struct {
	// Function is the declaration key (DeclKey).
	Function string
	// Declared says whether a live source declares it now.
	Declared bool
	// LastApplied is the source last applied for it, if any.
	LastApplied *Source
}

// knownUpdate is the change of fn's known item that adds (add) or removes
// the source id: one item of an index transaction.
func (s *Store) knownUpdate(fn, id string, add bool) types.TransactWriteItem {
	op := "DELETE"
	if add {
		op = "ADD"
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                aws.String(s.table),
		Key:                      key(knownPK, fn),
		UpdateExpression:         aws.String("SET #type = :type, #fn = :fn " + op + " #src :src"),
		ExpressionAttributeNames: map[string]string{"#type": "type", "#fn": "function", "#src": attrSources},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":type": str("known-function"), ":fn": str(fn),
			":src": &types.AttributeValueMemberSS{Value: []string{id}},
		},
	}}
}

// setLastApplied records src as the source last applied for fn.
func (s *Store) setLastApplied(ctx context.Context, fn string, src Source) error {
	u := sourceUpdate("known-function", fn, src)
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(knownPK, fn), UpdateExpression: aws.String(u.expr()),
		ExpressionAttributeNames: u.names, ExpressionAttributeValues: u.values,
	})
	if err != nil {
		return fmt.Errorf("record the source applied for function %s in table %s: %w", fn, s.table, err)
	}
	return nil
}

// KnownFunctions lists every function the index has seen declared and the
// sweep has not forgotten, ordered by function.
func (s *Store) KnownFunctions(ctx context.Context) ([]KnownFunction, error) {
	var out []KnownFunction
	err := s.queryAll(ctx, knownPK, func(item map[string]types.AttributeValue) {
		out = append(out, knownOf(item))
	})
	if err != nil {
		return nil, fmt.Errorf("list the known functions in table %s: %w", s.table, err)
	}
	return out, nil
}

// KnownFunction returns what the index knows of fn (nil if nothing).
func (s *Store) KnownFunction(ctx context.Context, fn string) (*KnownFunction, error) {
	item, err := s.getItem(ctx, knownPK, fn)
	if err != nil || item == nil {
		return nil, err
	}
	k := knownOf(item)
	return &k, nil
}

func knownOf(item map[string]types.AttributeValue) KnownFunction {
	k := KnownFunction{Function: getS(item, attrSK)}
	if ss, ok := item[attrSources].(*types.AttributeValueMemberSS); ok && len(ss.Value) > 0 {
		k.Declared = true
	}
	if getS(item, "kind") != "" {
		src := sourceOf(item)
		k.LastApplied = &src
	}
	return k
}

// ForgetFunction drops fn from the known functions, unless a live source
// declares it (again) by now: the sweep calls it once nothing of the
// function is left in AWS. It reports whether it forgot it.
func (s *Store) ForgetFunction(ctx context.Context, fn string) (bool, error) {
	_, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(knownPK, fn),
		ConditionExpression:      aws.String("attribute_not_exists(#src)"),
		ExpressionAttributeNames: map[string]string{"#src": attrSources},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("forget function %s in table %s: %w", fn, s.table, err)
	}
	return true, nil
}

// queryAll reads every item of partition pk, all pages, strongly
// consistent, in sort key order.
func (s *Store) queryAll(ctx context.Context, pk string, each func(map[string]types.AttributeValue)) error {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk)},
		ConsistentRead:            aws.Bool(true),
	}
	for {
		page, err := s.api.Query(ctx, in)
		if err != nil {
			return err
		}
		for _, item := range page.Items {
			each(item)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// Sweep is a sweep as it started.
type Sweep struct {
	ID      string
	Started time.Time
	// Functions is the number of checks enqueued: Declared functions a
	// live file declares, and Orphans.
	Functions, Declared, Orphans int
}

// PutSweep records s as the latest sweep.
func (s *Store) PutSweep(ctx context.Context, sw Sweep) error {
	_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: map[string]types.AttributeValue{
		attrPK: str(sweepPK), attrSK: str(sweepSK), "type": str("sweep"),
		"sweep_id": str(sw.ID), "started_at": str(sw.Started.UTC().Format(timeLayout)),
		"functions": num(int64(sw.Functions)), "declared": num(int64(sw.Declared)), "orphans": num(int64(sw.Orphans)),
	}})
	if err != nil {
		return fmt.Errorf("put sweep %s into table %s: %w", sw.ID, s.table, err)
	}
	return nil
}

// LatestSweep returns the sweep last started (nil if none ever did).
func (s *Store) LatestSweep(ctx context.Context) (*Sweep, error) {
	item, err := s.getItem(ctx, sweepPK, sweepSK)
	if err != nil || item == nil {
		return nil, err
	}
	sw := &Sweep{ID: getS(item, "sweep_id"), Functions: int(getN(item, "functions")),
		Declared: int(getN(item, "declared")), Orphans: int(getN(item, "orphans"))}
	sw.Started, _ = time.Parse(timeLayout, getS(item, "started_at"))
	return sw, nil
}

// DriftResult is the latest drift check of one function, as `eventwire
// drift` shows it.
type DriftResult struct {
	// Function is the declaration key checked (DeclKey).
	Function string
	// SweepID and SweepStarted name the sweep the check was part of.
	SweepID      string
	SweepStarted time.Time
	CheckedAt    time.Time
	// Kind is KindDeclared or KindOrphan.
	Kind string
	// Outcome is InSync, Drifted, Orphaned, Healed, Pruned, Invalid (the
	// file no longer validates) or Failed (the check failed; it is
	// retried).
	Outcome Outcome
	// Source is the file checked against (declared), or the file last
	// applied (orphan), as Source.String names it; "" if unknown.
	Source string
	// Plan and PlanJSON are the plan's text and JSON (plan.Plan), Changes
	// the number of its actions that write to AWS.
	Plan     string
	PlanJSON string
	Changes  int
	Errors   []string
	// RecordID is the id of the drift record in the function's history.
	RecordID string
}

// PutDriftResult records r as the function's latest check.
func (s *Store) PutDriftResult(ctx context.Context, r DriftResult) error {
	item := map[string]types.AttributeValue{
		attrPK: str(driftLatestPK), attrSK: str(r.Function), "type": str("drift-latest"),
		"function": str(r.Function), "sweep_id": str(r.SweepID),
		"sweep_started": str(r.SweepStarted.UTC().Format(timeLayout)),
		"checked_at":    str(r.CheckedAt.UTC().Format(timeLayout)),
		"kind":          str(r.Kind), "outcome": str(string(r.Outcome)), "source": str(r.Source),
		"plan": str(r.Plan), "plan_json": str(r.PlanJSON), "changes": num(int64(r.Changes)),
		"record_id": str(r.RecordID),
	}
	if errs := boundErrors(r.Errors); len(errs) > 0 {
		l := make([]types.AttributeValue, len(errs))
		for i, e := range errs {
			l[i] = str(e)
		}
		item["errors"] = &types.AttributeValueMemberL{Value: l}
	}
	dropEmpty(item)
	_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item})
	if err != nil {
		return fmt.Errorf("put the latest drift result of function %s into table %s: %w", r.Function, s.table, err)
	}
	return nil
}

// DriftResults lists the latest check of every function checked, ordered
// by function. A function that a later sweep did not check (forgotten,
// or the sweep still running) keeps its older result: compare SweepID
// with LatestSweep's.
func (s *Store) DriftResults(ctx context.Context) ([]DriftResult, error) {
	var out []DriftResult
	err := s.queryAll(ctx, driftLatestPK, func(item map[string]types.AttributeValue) {
		r := DriftResult{
			Function: getS(item, "function"), SweepID: getS(item, "sweep_id"), Kind: getS(item, "kind"),
			Outcome: Outcome(getS(item, "outcome")), Source: getS(item, "source"),
			Plan: getS(item, "plan"), PlanJSON: getS(item, "plan_json"), Changes: int(getN(item, "changes")),
			Errors: getList(item, "errors"), RecordID: getS(item, "record_id"),
		}
		r.SweepStarted, _ = time.Parse(timeLayout, getS(item, "sweep_started"))
		r.CheckedAt, _ = time.Parse(timeLayout, getS(item, "checked_at"))
		out = append(out, r)
	})
	if err != nil {
		return nil, fmt.Errorf("list the latest drift results in table %s: %w", s.table, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Function < out[j].Function })
	return out, nil
}

// DeleteDriftResult forgets the function's latest check.
func (s *Store) DeleteDriftResult(ctx context.Context, fn string) error {
	_, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: key(driftLatestPK, fn)})
	if err != nil {
		return fmt.Errorf("delete the latest drift result of function %s from table %s: %w", fn, s.table, err)
	}
	return nil
}

// dropEmpty leaves out the empty strings of an item but its keys: they
// add nothing.
func dropEmpty(item map[string]types.AttributeValue) {
	for k, v := range item {
		if sv, ok := v.(*types.AttributeValueMemberS); ok && sv.Value == "" && k != attrPK && k != attrSK {
			delete(item, k)
		}
	}
}
