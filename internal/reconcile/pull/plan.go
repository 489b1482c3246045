// Package pull plans and applies a function's event source mappings (the
// pull event sources of a definition file).
//
// Plan is pure: desired mappings + observed mappings -> actions. The
// Reconciler observes AWS through the lambdasvc adapter, plans, and executes
// actions one by one, waiting out transitional states and retrying
// conflicts.
//
// The planner's files import only plain data (internal/plan's
// planners test checks them file by file); the package imports the
// adapters, never the deployer, the CLI or a test kit (internal/layers).
package pull

import (
	"encoding/json"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/wiring"
)

// Op is what the executor needs to carry out a pull action (plan.Action.Op).
type Op struct {
	// UUID and MappingARN name the existing mapping (every kind but create).
	UUID       string
	MappingARN string
	// Create is the full CreateEventSourceMapping request (create, replace),
	// function and tags included.
	Create *definition.Mapping
	// Update holds only the fields to send to UpdateEventSourceMapping;
	// nil when no update call is needed.
	Update *definition.Mapping
	// Tag and Untag are the tag changes (TagResource / UntagResource).
	Tag   map[string]string
	Untag []string
	// Enabled is whether the mapping is to end up enabled.
	Enabled bool
}

// Reasons printed in plans.
const (
	reasonAdopt      = "exists without the managed tag: adopted"
	reasonDelete     = "managed by eventwire, no longer declared"
	reasonLeaveAlone = "not managed by eventwire, not declared"
)

// Plan computes the actions that make the function's mappings match
// desired. observed may hold mappings of other functions or qualifiers:
// only those whose FunctionArn is fn (same qualifier) are considered.
//
// Order: the file's mappings in file order (each create, replace, update,
// adopt, then its tag update), then deletions, then mappings left alone,
// each group sorted by event source and UUID.
func Plan(fn plan.Function, desired []definition.Mapping, observed []wiring.Mapping) []plan.Action {
	var mine []wiring.Mapping
	for _, o := range observed {
		// A mapping being deleted is as good as gone: a declared one is
		// created again (the executor retries the conflict until the old
		// one is gone), an undeclared one needs nothing.
		if o.State == wiring.StateDeleting {
			continue
		}
		if fn.Is(o.FunctionArn) {
			mine = append(mine, o)
		}
	}
	sort.SliceStable(mine, func(i, j int) bool {
		// Managed first, so a managed mapping wins a match over an
		// unmanaged duplicate; then by UUID for determinism.
		mi, mj := managed(mine[i]), managed(mine[j])
		if mi != mj {
			return mi
		}
		return mine[i].UUID < mine[j].UUID
	})
	taken := make([]bool, len(mine))
	matchOf := make([]int, len(desired))
	for i, d := range desired {
		matchOf[i] = -1
		for j, o := range mine {
			if !taken[j] && identity(d) == identity(o.Mapping) {
				matchOf[i], taken[j] = j, true
				break
			}
		}
	}
	// A managed mapping on the same source whose Topics, Queues or
	// endpoints changed is the same mapping to replace, not another one.
	for i, d := range desired {
		if matchOf[i] >= 0 {
			continue
		}
		for j, o := range mine {
			if !taken[j] && managed(o) && sameSource(d, o.Mapping) {
				matchOf[i], taken[j] = j, true
				break
			}
		}
	}

	var actions []plan.Action
	for i, d := range desired {
		if matchOf[i] < 0 {
			actions = append(actions, createAction(fn, d))
			continue
		}
		actions = append(actions, compare(fn, d, mine[matchOf[i]])...)
	}
	var deletes, left []plan.Action
	for j, o := range mine {
		if taken[j] {
			continue
		}
		if managed(o) {
			deletes = append(deletes, plan.Action{
				Kind: plan.Delete, Resource: plan.ResourceMapping, ID: observedID(o), Reason: reasonDelete,
				Op: &Op{UUID: o.UUID, MappingARN: o.ARN},
			})
		} else {
			left = append(left, plan.Action{
				Kind: plan.LeaveAlone, Resource: plan.ResourceMapping, ID: observedID(o), Reason: reasonLeaveAlone,
			})
		}
	}
	byID := func(as []plan.Action) {
		sort.SliceStable(as, func(i, j int) bool { return as[i].ID < as[j].ID })
	}
	byID(deletes)
	byID(left)
	actions = append(actions, deletes...)
	return append(actions, left...)
}

func createAction(fn plan.Function, d definition.Mapping) plan.Action {
	return plan.Action{
		Kind: plan.Create, Resource: plan.ResourceMapping, ID: label(d),
		Changes: settings(d),
		Op:      &Op{Create: createRequest(fn, d), Enabled: enabled(d)},
	}
}

// settings lists what the file sets on a mapping to be created, so that the
// plan shows exactly what will be sent: every field but the identity ones
// already named by the action, in the API's (alphabetical) order.
func settings(d definition.Mapping) []plan.Change {
	b, err := json.Marshal(d)
	if err != nil {
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		if k != "EventSourceArn" && k != "FunctionName" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	changes := make([]plan.Change, 0, len(names))
	for _, k := range names {
		var v any
		json.Unmarshal(fields[k], &v)
		to := string(fields[k])
		if str, ok := v.(string); ok {
			to = str
		}
		changes = append(changes, plan.Change{Field: k, From: plan.None, To: to, After: fields[k]})
	}
	return changes
}

// createRequest is the file's mapping as sent to CreateEventSourceMapping:
// on the resolved function (qualified if the reference is), with the
// managed tag.
func createRequest(fn plan.Function, d definition.Mapping) *definition.Mapping {
	c := d
	target := fn.QualifiedARN()
	if target == "" {
		target = fn.Ref
	}
	c.FunctionName = &target
	c.Tags = desiredTags(fn, d)
	return &c
}

// compare plans a declared mapping d against the mapping o that AWS has.
func compare(fn plan.Function, d definition.Mapping, o wiring.Mapping) []plan.Action {
	id := label(d) + " " + o.UUID
	if reasons, changes := createOnlyChanges(d, o.Mapping); len(reasons) > 0 {
		reason := "create-only field changed: " + strings.Join(reasons, ", ")
		if !managed(o) {
			reason += "; not managed by eventwire, declared: adopted"
		}
		return []plan.Action{{
			Kind: plan.Replace, Resource: plan.ResourceMapping, ID: id, Reason: reason, Changes: changes,
			Warning: positionLoss(d),
			Op:      &Op{UUID: o.UUID, MappingARN: o.ARN, Create: createRequest(fn, d), Enabled: enabled(d)},
		}}
	}
	if o.FilterCriteriaError != "" {
		// AWS cannot show the filters (KMS): they cannot be compared, so
		// they are taken as they are rather than rewritten on every run.
		d.FilterCriteria = o.Mapping.FilterCriteria
	}
	held := disabledForGood(d, o)
	if held != "" {
		d.Enabled = o.Mapping.Enabled // not re-enabled: see disabledForGood
	}
	upd, changes := updates(d, o.Mapping)
	tag, untag, tagChanges := tagChanges(desiredTags(fn, d), o.Tags)
	op := &Op{UUID: o.UUID, MappingARN: o.ARN, Update: upd, Enabled: enabled(d)}
	if !managed(o) {
		op.Tag, op.Untag = tag, untag
		return []plan.Action{{
			Kind: plan.Adopt, Resource: plan.ResourceMapping, ID: id, Reason: reasonAdopt,
			Changes: append(changes, tagChanges...), Op: op,
		}}
	}
	var actions []plan.Action
	if held != "" {
		actions = append(actions, plan.Action{Kind: plan.LeaveAlone, Resource: plan.ResourceMapping, ID: id, Reason: held})
	}
	if upd != nil {
		actions = append(actions, plan.Action{
			Kind: plan.Update, Resource: plan.ResourceMapping, ID: id, Changes: changes, Op: op,
			Reason: disabledByLambda(d, o),
		})
	}
	if len(tagChanges) > 0 {
		actions = append(actions, plan.Action{
			Kind: plan.Update, Resource: plan.ResourceMappingTags, ID: id, Changes: tagChanges,
			Op: &Op{UUID: o.UUID, MappingARN: o.ARN, Tag: tag, Untag: untag, Enabled: enabled(d)},
		})
	}
	return actions
}

// updates returns the UpdateEventSourceMapping fields that make have match
// want (nil if none) and the changes in display form.
func updates(want, have definition.Mapping) (*definition.Mapping, []plan.Change) {
	defs := defaults(want)
	var upd definition.Mapping
	var changes []plan.Change
	for _, f := range updFields {
		w, h := f.get(&want), f.get(&have)
		if def := f.get(&defs); def != nil {
			if w == nil {
				w = def
			}
			if h == nil {
				h = def
			}
		}
		if w == nil && !f.clearable {
			continue // not in the file, nothing to restore: AWS keeps it
		}
		if reflect.DeepEqual(w, h) {
			continue
		}
		f.set(&upd, w, h)
		changes = append(changes, plan.Diff(f.name, h, w))
	}
	if len(changes) == 0 {
		return nil, nil
	}
	return &upd, changes
}

// createOnlyChanges lists the fields that differ and that only a new
// mapping can change. A field the file does not set is whatever AWS chose.
func createOnlyChanges(want, have definition.Mapping) (fields []string, changes []plan.Change) {
	add := func(name string, from, to any) {
		fields = append(fields, name)
		changes = append(changes, plan.Diff(name, from, to))
	}
	if want.StartingPosition != nil && deref(want.StartingPosition) != deref(have.StartingPosition) {
		add("StartingPosition", plan.Optional(deref(have.StartingPosition)), *want.StartingPosition)
	}
	if w := want.StartingPositionTimestamp; w != nil {
		h := have.StartingPositionTimestamp
		if h == nil || math.Abs(*w-*h) >= 0.001 {
			var from any
			if h != nil {
				from = *h
			}
			add("StartingPositionTimestamp", from, *w)
		}
	}
	kafka := func(name string, w, h *definition.KafkaEventSourceConfig) {
		if w == nil {
			return
		}
		var hg, hm string
		if h != nil {
			hg, hm = deref(h.ConsumerGroupId), deref(h.ConsumptionMode)
		}
		if w.ConsumerGroupId != nil && *w.ConsumerGroupId != hg {
			add(name+".ConsumerGroupId", plan.Optional(hg), *w.ConsumerGroupId)
		}
		if hm == "" {
			hm = "Stream" // the documented default
		}
		if w.ConsumptionMode != nil && *w.ConsumptionMode != hm {
			add(name+".ConsumptionMode", hm, *w.ConsumptionMode)
		}
	}
	kafka("AmazonManagedKafkaEventSourceConfig", want.AmazonManagedKafkaEventSourceConfig, have.AmazonManagedKafkaEventSourceConfig)
	kafka("SelfManagedKafkaEventSourceConfig", want.SelfManagedKafkaEventSourceConfig, have.SelfManagedKafkaEventSourceConfig)
	// Identity fields, when a managed mapping on the same source was
	// matched despite them.
	if a, b := stringSet(want.Topics), stringSet(have.Topics); !reflect.DeepEqual(a, b) {
		add("Topics", b, a)
	}
	if a, b := stringSet(want.Queues), stringSet(have.Queues); !reflect.DeepEqual(a, b) {
		add("Queues", b, a)
	}
	if a, b := endpoints(want), endpoints(have); a != b {
		add("SelfManagedEventSource", plan.Optional(b), plan.Optional(a))
	}
	return fields, changes
}

// TagKeysTag lists, space-separated, the keys of the tags eventwire set on
// a mapping from its file, so that a tag someone else added (before an
// adoption, or by hand) is never removed: only keys listed here, and no
// longer in the file, are.
const TagKeysTag = "eventwire:tag-keys"

// maxTagValue is the longest tag value Lambda accepts.
const maxTagValue = 256

// tagKeysValue is TagKeysTag's value for the file's tags: their sorted keys,
// as many as fit in a tag value (a key left out is never removed later, the
// safe side).
func tagKeysValue(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	v := ""
	for _, k := range keys {
		next := k
		if v != "" {
			next = v + " " + k
		}
		if len(next) > maxTagValue {
			break
		}
		v = next
	}
	return v
}

// tagChanges compares the tags the mapping must carry with those it has.
// A tag is removed only if eventwire set it (listed in TagKeysTag, or one
// of eventwire's own keys); tags whose key starts with "aws:" belong to AWS
// and are never removed.
func tagChanges(want, have map[string]string) (tag map[string]string, untag []string, changes []plan.Change) {
	owned := map[string]bool{wiring.TagKey: true, TagKeysTag: true}
	for _, k := range strings.Fields(have[TagKeysTag]) {
		owned[k] = true
	}
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range have {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		w, inWant := want[k]
		h, inHave := have[k]
		switch {
		case inWant && (!inHave || w != h):
			if tag == nil {
				tag = map[string]string{}
			}
			tag[k] = w
			var from any
			if inHave {
				from = h
			}
			changes = append(changes, plan.Diff("Tags."+k, from, w))
		case !inWant && inHave && owned[k] && !strings.HasPrefix(k, "aws:"):
			untag = append(untag, k)
			changes = append(changes, plan.Diff("Tags."+k, h, nil))
		}
	}
	return tag, untag, changes
}

// desiredTags are the file's tags plus the managed tag, whose value is the
// function reference of the file.
func desiredTags(fn plan.Function, d definition.Mapping) map[string]string {
	t := make(map[string]string, len(d.Tags)+1)
	for k, v := range d.Tags {
		t[k] = v
	}
	t[wiring.TagKey] = fn.Ref
	if v := tagKeysValue(d.Tags); v != "" {
		t[TagKeysTag] = v
	}
	return t
}

func managed(o wiring.Mapping) bool {
	_, ok := o.Tags[wiring.TagKey]
	return ok
}

func enabled(d definition.Mapping) bool { return d.Enabled == nil || *d.Enabled }

// disabledByLambda says, for a mapping the file wants enabled, that Lambda
// disabled it itself (a StateTransitionReason other than a user's: the API
// documents "User initiated" and "Lambda initiated", and reports
// USER_INITIATED for a user's change of an SQS or Kafka mapping, "User
// action" of a Kinesis or DynamoDB stream's); "" otherwise. Lambda does so when
// the source went away, a queue deleted and re-created for instance, and
// never enables the mapping again.
func disabledByLambda(d definition.Mapping, o wiring.Mapping) string {
	if o.State != wiring.StateDisabled || !enabled(d) || o.StateTransitionReason == "" {
		return ""
	}
	norm := strings.Map(func(r rune) rune {
		if r == ' ' || r == '_' || r == '-' {
			return -1
		}
		return unicode.ToUpper(r)
	}, o.StateTransitionReason)
	if norm == "USERINITIATED" || norm == "USERACTION" {
		return ""
	}
	return "disabled by Lambda (StateTransitionReason " + strconv.Quote(o.StateTransitionReason) + "), not by a user: re-enable"
}

// persistentCauses are the StateTransitionReason codes with which Lambda
// disables a mapping for a cause that re-enabling does not remove.
var persistentCauses = []string{
	"EVENT_SOURCE_AUTHN_ERROR", "EVENT_SOURCE_AUTHZ_ERROR", "ESM_CONFIG_NOT_VALID", "FUNCTION_CONFIG_NOT_VALID",
}

// disabledForGood says, for a mapping the file wants enabled, that Lambda
// disabled it for a cause that persists (a code of persistentCauses, or a
// LastProcessingResult that reports a PROBLEM): re-enabling it would only
// see Lambda disable it again, on every apply and every heal. It is left
// disabled and the reason is shown; "" otherwise.
func disabledForGood(d definition.Mapping, o wiring.Mapping) string {
	if o.State != wiring.StateDisabled || !enabled(d) {
		return ""
	}
	cause := ""
	for _, c := range persistentCauses {
		if strings.Contains(o.StateTransitionReason, c) {
			cause = "StateTransitionReason " + strconv.Quote(o.StateTransitionReason)
		}
	}
	if cause == "" && strings.HasPrefix(o.LastProcessingResult, "PROBLEM:") {
		cause = "LastProcessingResult " + strconv.Quote(o.LastProcessingResult)
	}
	if cause == "" {
		return ""
	}
	return "disabled by Lambda for a cause that persists (" + cause + "): not re-enabled; fix the cause, then enable it " +
		"(aws lambda update-event-source-mapping --uuid " + o.UUID + " --enabled)"
}

// identity is what tells one mapping of a function from another: the event
// source, and the Topics, Queues and self-managed endpoints where those
// apply.
func identity(m definition.Mapping) string {
	return deref(m.EventSourceArn) + "|" + endpoints(m) + "|" +
		show(stringSet(m.Topics)) + "|" + show(stringSet(m.Queues))
}

// sameSource reports whether two mappings read the same source (ARN), or
// are both on self-managed Kafka with the same topics.
func sameSource(a, b definition.Mapping) bool {
	if arn := deref(a.EventSourceArn); arn != "" {
		return arn == deref(b.EventSourceArn)
	}
	return deref(b.EventSourceArn) == "" && a.SelfManagedEventSource != nil && b.SelfManagedEventSource != nil &&
		reflect.DeepEqual(stringSet(a.Topics), stringSet(b.Topics))
}

// endpoints renders SelfManagedEventSource.Endpoints in a stable form.
func endpoints(m definition.Mapping) string {
	if m.SelfManagedEventSource == nil {
		return ""
	}
	var parts []string
	for k, v := range m.SelfManagedEventSource.Endpoints {
		s := append([]string{}, v...)
		sort.Strings(s)
		parts = append(parts, k+"="+strings.Join(s, ","))
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

// label names a mapping's source in a plan: the event source ARN (or the
// Kafka bootstrap servers), with its topics or queues.
func label(m definition.Mapping) string {
	s := deref(m.EventSourceArn)
	if s == "" {
		s = endpoints(m)
	}
	if t := stringSet(m.Topics); t != nil {
		s += " topics=" + strings.Join(t.([]string), ",")
	}
	if q := stringSet(m.Queues); q != nil {
		s += " queues=" + strings.Join(q.([]string), ",")
	}
	return s
}

func observedID(o wiring.Mapping) string { return label(o.Mapping) + " " + o.UUID }

// positionLoss says what a replacement of mapping d costs in position: the
// new mapping is a new consumer of a stream or a Kafka topic (a new UUID,
// and with Kafka a new consumer group unless the file names one), so it
// starts at its StartingPosition rather than where the old one stopped.
// "" for a queue's mapping, which has no position, and for a Kafka
// mapping whose file names its consumer group, whose offsets stay.
func positionLoss(d definition.Mapping) string {
	if d.StartingPosition == nil {
		return ""
	}
	for _, k := range []*definition.KafkaEventSourceConfig{d.AmazonManagedKafkaEventSourceConfig, d.SelfManagedKafkaEventSourceConfig} {
		if k != nil && k.ConsumerGroupId != nil && *k.ConsumerGroupId != "" {
			return ""
		}
	}
	const lost = "replacing loses the old mapping's position: "
	switch *d.StartingPosition {
	case "LATEST":
		return lost + "LATEST skips the records written until the new mapping starts"
	case "TRIM_HORIZON":
		return lost + "TRIM_HORIZON reads the whole retention window again"
	case "AT_TIMESTAMP":
		return lost + "AT_TIMESTAMP reads again from StartingPositionTimestamp"
	}
	return lost + "the new mapping starts at " + *d.StartingPosition
}
