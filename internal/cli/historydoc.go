package cli

import (
	"encoding/json"
	"time"

	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/records"
)

// historyDocument is `history -o json`: a function's deployment records,
// newest first.
type historyDocument struct {
	FormatVersion string `json:"format_version"`
	Command       string `json:"command"`
	// Function is the function name the records are kept under ("-" for
	// runs of files that named no function), Table the DynamoDB table.
	Function string         `json:"function"`
	Table    string         `json:"table"`
	Records  []historyEntry `json:"records"`
}

// historyEntry is one run. Trigger, Mode and Outcome are open sets of
// strings: new kinds of runs (drift) add values.
type historyEntry struct {
	ID          string    `json:"id"`
	Function    *string   `json:"function"`     // null: the file named no function
	FunctionRef *string   `json:"function_ref"` // as the file names it
	Start       time.Time `json:"start"`
	DurationMS  int64     `json:"duration_ms"`
	Trigger     string    `json:"trigger"`
	Source      *string   `json:"source"`
	Mode        string    `json:"mode"`
	Outcome     string    `json:"outcome"`
	Changes     int       `json:"changes"`
	Errors      []string  `json:"errors"`
	// Plan is the plan the run made, null when it made none or the
	// record's copy was cut at the size limit; PlanText is its text form.
	Plan       *historyPlan `json:"plan"`
	PlanText   *string      `json:"plan_text"`
	RequestID  *string      `json:"request_id"`
	Caller     *string      `json:"caller"`
	DeclaredBy *string      `json:"declared_by"`
	SweepID    *string      `json:"sweep_id"` // a drift check's sweep
}

// historyPlan is a recorded plan, in the shape of a plan document's
// function.
type historyPlan struct {
	Function *functionRef     `json:"function"`
	Changes  bool             `json:"changes"`
	Actions  []actionDocument `json:"actions"`
}

func newHistoryDocument(function, table string, recs []records.Record) historyDocument {
	doc := historyDocument{FormatVersion: FormatVersion, Command: "history",
		Function: records.FunctionKey(function), Table: table, Records: make([]historyEntry, 0, len(recs))}
	for _, r := range recs {
		doc.Records = append(doc.Records, historyEntry{
			ID: r.ID, Function: orNull(r.Function), FunctionRef: orNull(r.FunctionRef),
			Start: r.Start, DurationMS: r.Duration.Milliseconds(), Trigger: string(r.Trigger),
			Source: orNull(r.Source), Mode: string(r.Mode), Outcome: string(r.Outcome), Changes: r.Changes,
			Errors: append([]string{}, r.Errors...), Plan: recordedPlan(r.PlanJSON), PlanText: orNull(r.Plan),
			RequestID: orNull(r.RequestID), Caller: orNull(r.Caller), DeclaredBy: orNull(r.DeclaredBy),
			SweepID: orNull(r.SweepID),
		})
	}
	return doc
}

// recordedPlan decodes a record's plan; nil when there is none or it does
// not decode (cut at the size limit).
func recordedPlan(s string) *historyPlan {
	var p plan.Plan
	if s == "" || json.Unmarshal([]byte(s), &p) != nil {
		return nil
	}
	h := &historyPlan{Changes: p.HasChanges(), Actions: []actionDocument{}}
	if p.Function.ARN != "" {
		h.Function = newFunctionRef(p.Function)
	}
	for _, a := range p.Actions {
		h.Actions = append(h.Actions, newActionDocument(a))
	}
	return h
}

// orNull is s, or nil (JSON null) when s is empty.
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
