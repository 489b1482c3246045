package pipeline_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"fmt"
	"hash/crc32"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/eventwire/eventwire/internal/deployer/pipeline"
	"github.com/eventwire/eventwire/internal/testkit/deployertest"
)

// deflated is n MiB of spaces, deflated, with its CRC-32: the stream is a
// compressed MiB repeated n times (each part flushed, so that the parts
// join), then an empty final block.
func deflated(t *testing.T, n int) (stream []byte, crc uint32) {
	t.Helper()
	mib := bytes.Repeat([]byte(" "), 1<<20)
	var part bytes.Buffer
	w, err := flate.NewWriter(&part, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(mib); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	stream = append(bytes.Repeat(part.Bytes(), n), 0x01, 0x00, 0x00, 0xff, 0xff) // a final empty stored block
	for range n {
		crc = crc32.Update(crc, crc32.IEEETable, mib)
	}
	return stream, crc
}

// bomb is a zip of the given entries, each a deflated stream of spaces:
// name → its size in MiB.
func bomb(t *testing.T, entries map[string]int) []byte {
	t.Helper()
	streams := map[int]struct {
		b   []byte
		crc uint32
	}{}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for name, n := range entries {
		s, ok := streams[n]
		if !ok {
			s.b, s.crc = deflated(t, n)
			streams[n] = s
		}
		w, err := zw.CreateRaw(&zip.FileHeader{
			Name: name, Method: zip.Deflate, CRC32: s.crc,
			CompressedSize64: uint64(len(s.b)), UncompressedSize64: uint64(n) << 20,
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(s.b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// emptyEntries is a zip of n empty files with names of the given length.
func emptyEntries(t *testing.T, n, nameLen int) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for i := range n {
		name := fmt.Sprintf("f%0*d", nameLen-1, i)
		if _, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Store}); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// A zip bomb in a pipeline artifact (the 716 KB one that made the deployer
// hold 600 MiB: many small, highly compressible definition files; or one
// huge entry; or a flood of entries) fails the job, answered with the
// limit it broke, while the deployer's memory stays bounded: what the
// handler allocated in all, measured with runtime.ReadMemStats, is a
// small fraction of what the bomb inflates to. The zip goes through a
// temporary file, which is removed.
func TestCodePipeline_ZipBomb_FailedWithTheReason_MemoryBounded(t *testing.T) {
	many := map[string]int{}
	for i := range 1000 {
		many[fmt.Sprintf("svc%04d/%s", i, "_lambdaeventsourcedef.json")] = 1
	}
	huge := map[string]int{"orders/_lambdaeventsourcedef.json": 2048, "orders/_lambdadef.json": 1}
	random := make([]byte, 4096)
	rand.Read(random)
	tests := []struct {
		name     string
		zip      func(t *testing.T) []byte
		limits   pipeline.ArtifactLimits
		inflated int64 // what the bomb inflates to
		wantType string
		wantMsg  string
	}{
		{
			name: "many compressible definition files", zip: func(t *testing.T) []byte { return bomb(t, many) },
			inflated: 1000 << 20,
			wantType: "JobFailed",
			wantMsg:  "input artifact SourceArtifact (s3://codepipeline-us-east-1-123456789012/definitions-pipeline/SourceArti/Xa3kL9p): its 1000 definition file(s) hold more than the 32 MiB of definition files a job may have, uncompressed (each read to at most 1 MiB)",
		},
		{
			name: "one huge definition file", zip: func(t *testing.T) []byte { return bomb(t, huge) },
			inflated: 2049 << 20,
			wantType: "ConfigurationError",
			wantMsg:  "1 validation error(s), nothing applied:\nSourceArtifact/orders/_lambdaeventsourcedef.json: file is 1048577 bytes, over the limit of 1048576 (1 MiB)",
		},
		{
			name: "a flood of entries", zip: func(t *testing.T) []byte { return emptyEntries(t, pipeline.DefaultArtifactEntries+1, 8) },
			wantType: "JobFailed",
			wantMsg:  "input artifact SourceArtifact (s3://codepipeline-us-east-1-123456789012/definitions-pipeline/SourceArti/Xa3kL9p): the zip has 20001 entries, more than the limit of 20000",
		},
		{
			name: "a central directory too large for its entries", zip: func(t *testing.T) []byte { return emptyEntries(t, 1001, 600) },
			limits:   pipeline.ArtifactLimits{Entries: 1000},
			wantType: "JobFailed",
			wantMsg:  "input artifact SourceArtifact (s3://codepipeline-us-east-1-123456789012/definitions-pipeline/SourceArti/Xa3kL9p): the zip's central directory is larger than 1000 entries may take (400000 bytes): more than the limit of 1000 entries",
		},
		{
			name: "a zip over the size limit", zip: func(t *testing.T) []byte { return random },
			limits:   pipeline.ArtifactLimits{ZipBytes: 1024},
			wantType: "JobFailed",
			wantMsg:  "input artifact SourceArtifact (s3://codepipeline-us-east-1-123456789012/definitions-pipeline/SourceArti/Xa3kL9p): the zip is larger than the limit of 1024 bytes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			pe := newPipelineEnvZips(t, deployertest.NewEnv(t), tt.zip(t), zipOf(t, inventoryArtifact))
			pe.Config.CodePipeline.ArtifactLimits = tt.limits
			h := pe.NewHandler()
			ev := pe.jobEvent(t, "", "")

			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			err := h.Handle(context.Background(), ev)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatalf("Handle = %v, want nil (the job is answered)", err)
			}

			a := pe.answers()
			if len(a) != 1 || a[0].Op != "PutJobFailureResult" {
				t.Fatalf("answers %v, want one PutJobFailureResult", a)
			}
			fd, _ := a[0].Body["failureDetails"].(map[string]any)
			if fd["type"] != tt.wantType || fd["message"] != tt.wantMsg {
				t.Errorf("failure %v:\n%v\nwant %s:\n%s", fd["type"], fd["message"], tt.wantType, tt.wantMsg)
			}
			if calls := pe.Deployer.Calls(); len(calls) != 0 {
				t.Errorf("deployer called: %v", calls)
			}
			// 64 MiB: a twentieth of the smallest bomb's inflated size.
			const bound = 64 << 20
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > bound || (tt.inflated > 0 && int64(alloc) > tt.inflated/16) {
				t.Errorf("the handler allocated %d MiB for a bomb of %d MiB, want under %d MiB", alloc>>20, tt.inflated>>20, bound>>20)
			}
			if left, err := os.ReadDir(tmp); err != nil || len(left) != 0 {
				t.Errorf("temporary files left: %v (%v)", left, err)
			}
		})
	}
}

// Entries that are not definition files are never read: one declared as
// 2 GiB whose data is not even a deflate stream does not fail the job.
func TestCodePipeline_OtherEntries_NotRead(t *testing.T) {
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "assets/video.raw", Method: zip.Deflate, CompressedSize64: 16, UncompressedSize64: 2 << 30})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(bytes.Repeat([]byte{0xff}, 16)) // not deflate: reading it would fail
	w, _ = zw.Create("orders/_lambdaeventsourcedef.json")
	w.Write([]byte(deployertest.SQSFile("orders", "orders", 5)))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	pe := newPipelineEnvZips(t, deployertest.NewEnv(t), out.Bytes(), zipOf(t, nil))
	if err := pe.NewHandler().Handle(context.Background(), pe.jobEvent(t, "", "")); err != nil {
		t.Fatal(err)
	}
	if a := pe.answers(); len(a) != 1 || a[0].Op != "PutJobSuccessResult" || !strings.Contains(deployertest.JSONString(a[0].Body), "orders: applied 1 create") {
		t.Errorf("answers %v, want orders applied", a)
	}
}
