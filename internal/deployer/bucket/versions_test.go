package bucket_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/deployertest"
)

// deleteVersion deletes one version (or delete marker) of key for good.
func deleteVersion(t *testing.T, e *deployertest.Env, key, version string) {
	t.Helper()
	if _, err := e.S3.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(deployertest.Bucket), Key: aws.String(key), VersionId: aws.String(version)}); err != nil {
		t.Fatal(err)
	}
}

// Through the real handler on moto (S3 versioning): a rollback (the
// current version deleted for good, S3's documented way to restore the
// previous one) and an undelete (the delete marker deleted) send
// ObjectRemoved:Delete; the function converges to what S3 now serves, the
// record naming that version. An older put's event arriving after the
// rollback's changes nothing, and a removal event delivered twice applies
// once.
func TestS3_RollbackAndUndelete_ConvergeToWhatS3Serves(t *testing.T) {
	const key = "orders/_lambdaeventsourcedef.json"
	tests := []struct {
		name string
		// change makes the change in S3 after v1 (batch 5) and v2 (batch
		// 7) were put and their events handled; it returns the version id
		// its event names.
		change func(e *deployertest.Env, v2 string) string
	}{
		{"rollback: the current version deleted", func(e *deployertest.Env, v2 string) string {
			deleteVersion(t, e, key, v2)
			return v2
		}},
		{"undelete after a rollback: the delete marker deleted", func(e *deployertest.Env, v2 string) string {
			deleteVersion(t, e, key, v2)
			dm := e.Remove(key)
			ev := deployertest.Event(t, "s3-delete-marker.json", s3Vars{Key: key, Version: dm, Sequencer: "0055AED6DCD9028300"})
			if err := e.NewHandler().Handle(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			if _, ok := e.Deployer.Applied()["orders"]; ok {
				t.Fatal("not torn down by the delete marker")
			}
			deleteVersion(t, e, key, dm)
			return dm
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := deployertest.NewEnv(t)
			h := e.NewHandler()
			v1 := e.Put(key, deployertest.SQSFile("orders", "orders", 5))
			put1 := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v1, Sequencer: "0055AED6DCD90281E5"})
			v2 := e.Put(key, deployertest.SQSFile("orders", "orders", 7))
			put2 := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v2, Sequencer: "0055AED6DCD90281E6"})
			for _, ev := range []json.RawMessage{put1, put2} {
				if err := h.Handle(context.Background(), ev); err != nil {
					t.Fatal(err)
				}
			}
			removed := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectRemoved:Delete", Key: key, Version: tt.change(e, v2), Sequencer: "0055AED6DCD9028400"})
			for _, ev := range []json.RawMessage{removed, removed, put1} {
				if err := h.Handle(context.Background(), ev); err != nil {
					t.Fatal(err)
				}
			}
			if got := e.Deployer.Applied()["orders"]; !strings.Contains(got, `"BatchSize":5`) {
				t.Errorf("applied %s, want v1's (BatchSize 5)", got)
			}
			src := "s3://" + deployertest.Bucket + "/" + key + "?versionId="
			if got := e.Outcomes("orders"); len(got) == 0 || got[0] != "succeeded apply "+src+v1 {
				t.Errorf("records: %q, want v1 applied last", got)
			}
		})
	}
}

// A put event whose version is no longer the key's current one (a newer
// put followed, its event lost or not yet delivered) is superseded: the
// current version is indexed, never the event's older one; and its
// sequencer is not stored, so the newer put's own event, older or newer
// than it, is still handled.
func TestS3_PutEventOfAnOlderVersion_CurrentIndexedInstead(t *testing.T) {
	const key = "orders/_lambdaeventsourcedef.json"
	e := deployertest.NewEnv(t)
	h := e.NewHandler()
	v1 := e.Put(key, deployertest.SQSFile("orders", "orders", 5))
	v2 := e.Put(key, deployertest.SQSFile("orders", "orders", 7))
	for _, ev := range []json.RawMessage{
		deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v1, Sequencer: "0055AED6DCD90281E5"}),
		deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v2, Sequencer: "0055AED6DCD90281E6"}),
	} {
		if err := h.Handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	src := "s3://" + deployertest.Bucket + "/" + key + "?versionId="
	if diff := cmp.Diff([]string{"succeeded apply " + src + v2}, e.Outcomes("orders")); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	st, err := e.Store.SourceState(context.Background(), records.S3Source(deployertest.Bucket, key, ""))
	if err != nil {
		t.Fatal(err)
	}
	if want := records.NormalizeSequencer("0055AED6DCD90281E6"); st.Sequencer != want || st.FileVersion != v2 {
		t.Errorf("source state: sequencer %s, file version %s; want v2's event's (%s, %s)", st.Sequencer, st.FileVersion, want, v2)
	}
}

// A definition that names its function only through its _lambdadef.json:
// the sibling's put re-indexes the definition beside it (the function it
// now names applied, the one it named before torn down), and so does its
// removal (the definition, invalid without it, recorded invalid; the
// previous declaration holds). The sibling's sequencer is never stored on
// the definition's key; a sibling with no definition beside it changes
// nothing.
func TestS3_SiblingChanged_DefinitionReindexed(t *testing.T) {
	const dir = "svc/"
	e := deployertest.NewEnv(t)
	h := e.NewHandler()
	handle := func(ev json.RawMessage) {
		t.Helper()
		if err := h.Handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	e.Put(dir+"_lambdadef.json", `{"FunctionName":"orders"}`)
	v := e.Put(dir+"_lambdaeventsourcedef.json", `{"PullEventSources":{"EventSourceMapping":{"EventSourceArn":"arn:aws:sqs:us-east-1:123456789012:orders"}}}`)
	handle(deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: dir + "_lambdaeventsourcedef.json", Version: v, Sequencer: "0055AED6DCD90281E5"}))

	sv := e.Put(dir+"_lambdadef.json", `{"FunctionName":"inventory"}`)
	sibling := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: dir + "_lambdadef.json", Version: sv, Sequencer: "FFFFFFFFFFFFFFFFFF"})
	handle(sibling)
	handle(sibling) // delivered again: nothing more
	lone := e.Put("lone/_lambdadef.json", `{"FunctionName":"lone"}`)
	handle(deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: "lone/_lambdadef.json", Version: lone, Sequencer: "0055AED6DCD90281E5"}))

	if diff := cmp.Diff([]string{"plan orders", "apply orders", "plan inventory", "apply inventory", "plan-destroy orders", "apply orders"}, e.Deployer.Calls()); diff != "" {
		t.Errorf("deployer calls (-want +got):\n%s", diff)
	}
	st, err := e.Store.SourceState(context.Background(), records.S3Source(deployertest.Bucket, dir+"_lambdaeventsourcedef.json", ""))
	if err != nil {
		t.Fatal(err)
	}
	if want := records.NormalizeSequencer("0055AED6DCD90281E5"); st.Sequencer != want || st.Declares() != "inventory" {
		t.Errorf("definition's state: sequencer %s, declares %q; want %s, inventory", st.Sequencer, st.Declares(), want)
	}

	dm := e.Remove(dir + "_lambdadef.json")
	handle(deployertest.Event(t, "s3-delete-marker.json", s3Vars{Key: dir + "_lambdadef.json", Version: dm, Sequencer: "0055AED6DCD90281F0"}))
	if got := e.Outcomes("-"); len(got) != 1 || got[0] != "invalid apply s3://"+deployertest.Bucket+"/"+dir+"_lambdaeventsourcedef.json?versionId="+v {
		t.Errorf("records of files naming no function: %q, want the definition recorded invalid", got)
	}
	if _, ok := e.Deployer.Applied()["inventory"]; !ok {
		t.Error("inventory torn down: the previous declaration should hold")
	}
}

// Forged removal and sibling events (sequencer FFFF…, a version that
// never existed) on a key that has a current object can only make the
// deployer index what S3 serves: their sequencers are not stored, and the
// key's next real put is still applied.
func TestS3_ForgedRemovalAndSiblingEvents_StoreNoSequencer(t *testing.T) {
	const key = "orders/_lambdaeventsourcedef.json"
	e := deployertest.NewEnv(t)
	h := e.NewHandler()
	forged := strings.Repeat("F", 64)
	v1 := e.Put(key, deployertest.SQSFile("orders", "orders", 5))
	for _, ev := range []json.RawMessage{
		deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v1, Sequencer: "0055AED6DCD90281E5"}),
		deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectRemoved:Delete", Key: key, Version: "forged-version", Sequencer: forged}),
		deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: "orders/_lambdadef.json", Version: "forged-version", Sequencer: forged}),
	} {
		if err := h.Handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	v2 := e.Put(key, deployertest.SQSFile("orders", "orders", 7))
	if err := h.Handle(context.Background(), deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v2, Sequencer: "0055AED6DCD90281E6"})); err != nil {
		t.Fatal(err)
	}
	if got := e.Deployer.Applied()["orders"]; !strings.Contains(got, `"BatchSize":7`) {
		t.Errorf("applied %s, want the real put's (BatchSize 7)", got)
	}
	st, err := e.Store.SourceState(context.Background(), records.S3Source(deployertest.Bucket, key, ""))
	if err != nil {
		t.Fatal(err)
	}
	if want := records.NormalizeSequencer("0055AED6DCD90281E6"); st.Sequencer != want {
		t.Errorf("sequencer %s, want the real put's %s", st.Sequencer, want)
	}
}

// A forged sequencer must not block a key: a real version replayed with
// sequencer FFFF..., or a forged ObjectRemoved:Delete of a key that does
// not exist yet, was indexed with its sequencer, and every later genuine
// upload (its sequencer lower) was dropped as stale. Now a stale event
// that names the key's current, unindexed version indexes it anyway, and
// no sequencer is stored for a key with no object.
func TestS3_ForgedSequencer_GenuineUploadStillApplied(t *testing.T) {
	const key = "orders/_lambdaeventsourcedef.json"
	forged := strings.Repeat("F", 64)
	for _, tt := range []struct {
		name   string
		forged func(e *deployertest.Env) json.RawMessage
	}{
		{"a real version replayed with FFFF", func(e *deployertest.Env) json.RawMessage {
			v1 := e.Put(key, deployertest.SQSFile("orders", "orders", 5))
			return deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v1, Sequencer: forged})
		}},
		{"a removal of a key not there yet", func(e *deployertest.Env) json.RawMessage {
			return deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectRemoved:Delete", Key: key, Version: "forged-version", Sequencer: forged})
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := deployertest.NewEnv(t)
			h := e.NewHandler()
			if err := h.Handle(context.Background(), tt.forged(e)); err != nil {
				t.Fatal(err)
			}
			v2 := e.Put(key, deployertest.SQSFile("orders", "orders", 7))
			if err := h.Handle(context.Background(), deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v2, Sequencer: "0055AED6DCD90281E6"})); err != nil {
				t.Fatal(err)
			}
			if got := e.Deployer.Applied()["orders"]; !strings.Contains(got, `"BatchSize":7`) {
				t.Errorf("applied %q, want the genuine upload's (BatchSize 7)", got)
			}
		})
	}
}
