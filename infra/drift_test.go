package main

import (
	"fmt"
	"strings"
	"testing"
)

// failedEventsSend is the failure queue's statement that lets the rule
// send the events it could not deliver.
func failedEventsSend(rule string) any {
	return map[string]any{
		"Action": "sqs:SendMessage", "Effect": "Allow", "Principal": map[string]any{"Service": "events.amazonaws.com"},
		"Resource":  "${FailedEvents.Arn}",
		"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": rule}},
	}
}

// failedEventsSenders are the Allow statements of the failure queue's
// policy, without their Sids.
func failedEventsSenders(t *testing.T, tm template) []any {
	t.Helper()
	var sends []any
	for _, s := range get(tm.one(t, "AWS::SQS::QueuePolicy", "FailedEvents").Properties, "PolicyDocument", "Statement").([]any) {
		if get(s, "Effect") == "Allow" {
			m := render(s).(map[string]any)
			delete(m, "Sid")
			sends = append(sends, m)
		}
	}
	return sends
}

// eventsInvokers are the rules that EventBridge may invoke the deployer
// for (the SourceArn of its permissions), sorted.
func eventsInvokers(tm template) []string {
	var rules []string
	for _, p := range tm.ofType("AWS::Lambda::Permission") {
		if p.Properties["Principal"] == "events.amazonaws.com" {
			rules = append(rules, strs(p.Properties["SourceArn"])...)
		}
	}
	return strs(anyList(rules))
}

func anyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// TestDriftSchedule: a rule starts a sweep once a day by default, on the
// configured schedule otherwise, never with driftSchedule=off; it sends
// contract.SweepInput, and a start it cannot deliver goes to the failure
// queue.
func TestDriftSchedule(t *testing.T) {
	for _, c := range []struct {
		variant, schedule string
	}{
		{"default", "rate(1 day)"},
		{"full", "cron(0 3 ? * MON-FRI *)"},
		{"drift-off", ""},
	} {
		t.Run(c.variant, func(t *testing.T) {
			tm := synth(t, c.variant)
			var schedules []any
			for id, r := range tm.ofType("AWS::Events::Rule") {
				if !strings.HasPrefix(id, "DriftSchedule") {
					continue
				}
				p := render(r.Properties).(map[string]any)
				schedules = append(schedules, p["ScheduleExpression"])
				diff(t, "targets", []any{map[string]any{
					"Id": "Target0", "Arn": deployer,
					"Input":            `{"eventwire":"sweep"}`,
					"DeadLetterConfig": map[string]any{"Arn": "${FailedEvents.Arn}"},
				}}, p["Targets"])
			}
			if c.schedule == "" {
				diff(t, "schedules", []any(nil), schedules)
				diff(t, "EventBridge's permissions", []string(nil), eventsInvokers(tm))
				diff(t, "failure queue senders", []any(nil), failedEventsSenders(t, tm))
				return
			}
			diff(t, "schedules", []any{c.schedule}, schedules)
			if c.variant == "default" { // full has the CodeCommit rule too
				diff(t, "EventBridge's permissions", []string{"${DriftSchedule.Arn}"}, eventsInvokers(tm))
				diff(t, "failure queue senders", []any{failedEventsSend("${DriftSchedule.Arn}")}, failedEventsSenders(t, tm))
			}
		})
	}
}

// TestSweepQueue: the sweep queue is encrypted, TLS only, hides a batch
// for six times the function's timeout, and moves a check received 3
// times to its dead-letter queue (encrypted, TLS only, kept 14 days).
func TestSweepQueue(t *testing.T) {
	tm := synth(t, "default")
	q := render(tm.one(t, "AWS::SQS::Queue", "SweepQueue").Properties)
	diff(t, "sweep queue", map[string]any{
		"SqsManagedSseEnabled":   true,
		"VisibilityTimeout":      float64(6 * 300),
		"MessageRetentionPeriod": float64(4 * 24 * 3600),
		"RedrivePolicy":          map[string]any{"deadLetterTargetArn": "${SweepDeadLetters.Arn}", "maxReceiveCount": float64(3)},
	}, q)
	dlq := render(tm.one(t, "AWS::SQS::Queue", "SweepDeadLetters").Properties)
	diff(t, "dead-letter queue", map[string]any{"SqsManagedSseEnabled": true, "MessageRetentionPeriod": float64(14 * 24 * 3600)}, dlq)
	for _, name := range []string{"SweepQueue", "SweepDeadLetters"} {
		var statements []any
		for _, s := range get(tm.one(t, "AWS::SQS::QueuePolicy", name+"Policy").Properties, "PolicyDocument", "Statement").([]any) {
			statements = append(statements, render(s))
		}
		// The TLS deny; and on the sweep queue, a deny of sending to
		// every principal but the deployer's role, whatever else the
		// account's identity policies allow.
		want := []any{map[string]any{
			"Action": "sqs:*", "Effect": "Deny", "Principal": map[string]any{"AWS": "*"},
			"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			"Resource":  "${" + name + ".Arn}",
		}}
		if name == "SweepQueue" {
			want = append(want, map[string]any{
				"Sid": "OnlyTheDeployerSends", "Action": "sqs:SendMessage", "Effect": "Deny", "Principal": map[string]any{"AWS": "*"},
				"Condition": map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": "${DeployerRole.Arn}"}},
				"Resource":  "${SweepQueue.Arn}",
			})
		}
		diff(t, name+" policy", want, statements)
	}
}

// TestSweepMapping: the deployer consumes the sweep queue through its own
// event source mapping: batches of 10, failed checks reported one by one,
// at most sweepConcurrency invocations at once (default 2).
func TestSweepMapping(t *testing.T) {
	for _, c := range []struct {
		variant     string
		concurrency float64
	}{{"default", 2}, {"full", 5}, {"drift-off", 2}} {
		t.Run(c.variant, func(t *testing.T) {
			tm := synth(t, c.variant)
			var got []any
			for _, m := range tm.ofType("AWS::Lambda::EventSourceMapping") {
				got = append(got, render(m.Properties))
			}
			diff(t, "mappings", []any{map[string]any{
				"FunctionName":          "${Deployer}",
				"EventSourceArn":        "${SweepQueue.Arn}",
				"BatchSize":             float64(10),
				"FunctionResponseTypes": []any{"ReportBatchItemFailures"},
				"ScalingConfig":         map[string]any{"MaximumConcurrency": c.concurrency},
			}}, got)
			env := get(render(tm.one(t, "AWS::Lambda::Function", "Deployer").Properties), "Environment", "Variables").(map[string]any)
			sweepEnv := map[string]any{}
			for k, v := range env {
				if strings.HasPrefix(k, "EVENTWIRE_SWEEP_") || k == "EVENTWIRE_DRIFT_HEAL" || k == "EVENTWIRE_TEARDOWN_GRACE_SECONDS" {
					sweepEnv[k] = v
				}
			}
			want := map[string]any{
				"EVENTWIRE_SWEEP_QUEUE_URL": "${SweepQueue}", "EVENTWIRE_SWEEP_QUEUE_ARN": "${SweepQueue.Arn}",
				"EVENTWIRE_DRIFT_HEAL": "false", "EVENTWIRE_SWEEP_SHARE": "0.5", "EVENTWIRE_SWEEP_CONCURRENCY": "2",
				"EVENTWIRE_TEARDOWN_GRACE_SECONDS": "60",
			}
			if c.variant == "full" {
				want["EVENTWIRE_DRIFT_HEAL"], want["EVENTWIRE_SWEEP_SHARE"], want["EVENTWIRE_SWEEP_CONCURRENCY"] = "true", "0.25", "5"
				want["EVENTWIRE_TEARDOWN_GRACE_SECONDS"] = "30"
			}
			diff(t, "the sweep's environment", want, sweepEnv)
		})
	}
}

func TestScheduleProblem(t *testing.T) {
	for _, c := range []struct {
		expr, want string
	}{
		{"rate(1 day)", ""},
		{"rate(12 hours)", ""},
		{"rate(1 minute)", ""},
		{"rate(90 minutes)", ""},
		{"rate(1 days)", "the unit is singular for 1 and plural otherwise"},
		{"rate(2 day)", "the unit is singular for 1 and plural otherwise"},
		{"rate(0 days)", "neither rate(VALUE UNIT) nor cron(FIELDS)"},
		{"rate(1 week)", "neither rate(VALUE UNIT) nor cron(FIELDS)"},
		{"1 day", "neither rate(VALUE UNIT) nor cron(FIELDS)"},
		{"cron(0 3 * * ? *)", ""},
		{"cron(15 10 ? * 6L 2026-2030)", ""},
		{"cron(0/15 8-18 ? * MON-FRI *)", ""},
		{"cron(0 12 L * ? *)", ""},
		{"cron(0 9 ? * 2#1 *)", ""},
		{"cron(0,30 1,13 1-15/2 JAN,JUL ? *)", ""},
		{"cron(0 3 * * *)", "cron takes 6 fields (minutes hours day-of-month month day-of-week year), not 5"},
		{"cron(0 3 * * * *)", "one of day-of-month and day-of-week must be ?, not both"},
		{"cron(0 3 ? * ? *)", "one of day-of-month and day-of-week must be ?, not both"},
		{"cron(60 3 * * ? *)", `the minutes field "60" is not valid`},
		{"cron(0 24 * * ? *)", `the hours field "24" is not valid`},
		{"cron(0 3 32 * ? *)", `the day-of-month field "32" is not valid`},
		{"cron(0 3 ? 13 MON *)", `the month field "13" is not valid`},
		{"cron(0 3 ? * 8 *)", `the day-of-week field "8" is not valid`},
		{"cron(0 3 * * ? 1969)", `the year field "1969" is not valid`},
	} {
		t.Run(c.expr, func(t *testing.T) {
			diff(t, "problem", c.want, scheduleProblem(c.expr))
		})
	}
}

func TestSweepSettings(t *testing.T) {
	for _, c := range []struct {
		name     string
		in       sweepSettings
		problems []string
		want     sweepConfig
	}{
		{"defaults", sweepSettings{}, nil, sweepConfig{schedule: "rate(1 day)", share: 0.5, concurrency: 2, teardownGrace: 60}},
		{"off", sweepSettings{schedule: "off"}, nil, sweepConfig{share: 0.5, concurrency: 2, teardownGrace: 60}},
		{"set", sweepSettings{schedule: "rate(6 hours)", heal: true, share: "1", concurrency: "1000", teardownGrace: "900"}, nil,
			sweepConfig{schedule: "rate(6 hours)", heal: true, share: 1, concurrency: 1000, teardownGrace: 900}},
		{"teardowns at once", sweepSettings{teardownGrace: "0"}, nil, sweepConfig{schedule: "rate(1 day)", share: 0.5, concurrency: 2}},
		{"bad", sweepSettings{schedule: "daily", share: "50%", concurrency: "1", teardownGrace: "1m"}, []string{
			`context parameter driftSchedule: "daily" is not an EventBridge schedule expression (rate(1 day), rate(12 hours), cron(0 3 * * ? *), or off): neither rate(VALUE UNIT) nor cron(FIELDS)`,
			`context parameter sweepShare: "50%" is not a share of the quotas above 0 and at most 1 (0.5 is half)`,
			`context parameter sweepConcurrency: "1" is not a number of concurrent invocations from 2 to 1000 (Lambda's bounds of MaximumConcurrency)`,
			`context parameter teardownGraceSeconds: "1m" is not a number of seconds from 0 to 900 (SQS's longest delay; 0: teardowns at once)`,
		}, sweepConfig{schedule: "rate(1 day)", share: 0.5, concurrency: 2, teardownGrace: 60}},
		{"out of range", sweepSettings{share: "0", concurrency: "1001", teardownGrace: "901"}, []string{
			`context parameter sweepShare: "0" is not a share of the quotas above 0 and at most 1 (0.5 is half)`,
			`context parameter sweepConcurrency: "1001" is not a number of concurrent invocations from 2 to 1000 (Lambda's bounds of MaximumConcurrency)`,
			`context parameter teardownGraceSeconds: "901" is not a number of seconds from 0 to 900 (SQS's longest delay; 0: teardowns at once)`,
		}, sweepConfig{schedule: "rate(1 day)", share: 0.5, concurrency: 2, teardownGrace: 60}},
	} {
		t.Run(c.name, func(t *testing.T) {
			diff(t, "problems", c.problems, c.in.problems())
			diff(t, "config", fmt.Sprintf("%+v", c.want), fmt.Sprintf("%+v", c.in.config()))
		})
	}
}
