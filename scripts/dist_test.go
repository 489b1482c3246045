// Package scripts holds the repository's scripts; its tests run them
// (tests only: it imports nothing of eventwire's).
package scripts

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The version and commit the test stamps.
const (
	testVersion = "v9.9.9-disttest"
	testCommit  = "5c4ef1049f1d27deadbeef"
)

// TestDist runs dist.sh for the host's target only (one build, cached) and
// checks what the release uploads: the archive's contents, the stamped
// version, the build flags, and a checksum file that sha256sum --check
// reads.
func TestDist(t *testing.T) {
	dist := t.TempDir()
	target := runtime.GOOS + "/" + runtime.GOARCH
	cmd := exec.Command("./dist.sh", target)
	cmd.Env = append(os.Environ(), "DIST="+dist, "VERSION="+testVersion, "COMMIT="+testCommit)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dist.sh %s: %v\n%s", target, err, out)
	}
	name := "eventwire_" + testVersion + "_" + runtime.GOOS + "_" + runtime.GOARCH
	archive := name + ".tar.gz"
	exe := "eventwire" // the host runs bash: not Windows, so a tar.gz
	sums := "eventwire_" + testVersion + "_checksums.txt"
	entries, err := os.ReadDir(dist)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		files = append(files, e.Name())
	}
	// ReadDir sorts by name: the checksum file comes first.
	if diff := cmp.Diff([]string{sums, archive}, files); diff != "" {
		t.Fatalf("dist folder (-want +got):\n%s", diff)
	}
	checkSums(t, dist, sums, []string{archive})

	members := readTarGz(t, filepath.Join(dist, archive))
	if diff := cmp.Diff([]string{name + "/README.md", name + "/" + exe}, sortedKeys(members)); diff != "" {
		t.Fatalf("archive members (-want +got):\n%s", diff)
	}
	binPath := filepath.Join(t.TempDir(), exe)
	if err := os.WriteFile(binPath, members[name+"/"+exe], 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binPath, "--version").Output()
	if err != nil {
		t.Fatalf("eventwire --version: %v", err)
	}
	if want := "eventwire " + testVersion + " (commit " + testCommit[:12] + ", go"; !strings.HasPrefix(string(out), want) {
		t.Errorf("eventwire --version = %q, want it to start with %q: the -X stamp did not take", out, want)
	}
	info, err := exec.Command("go", "version", "-m", binPath).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	for _, want := range []string{"-trimpath=true", "CGO_ENABLED=0", "GOOS=" + runtime.GOOS, "GOARCH=" + runtime.GOARCH} {
		if !strings.Contains(string(info), "build\t"+want+"\n") {
			t.Errorf("build info lacks %s:\n%s", want, info)
		}
	}
}

// checkSums reads the checksum file: one `HASH  NAME` line per archive,
// each hash the archive's SHA-256.
func checkSums(t *testing.T, dist, sums string, archives []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dist, sums))
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^([0-9a-f]{64})  (\S+)$`)
	var named []string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("%s: line %q is not `SHA256  NAME`", sums, l)
			continue
		}
		named = append(named, m[2])
		data, err := os.ReadFile(filepath.Join(dist, m[2]))
		if err != nil {
			t.Errorf("%s names %s: %v", sums, m[2], err)
			continue
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != m[1] {
			t.Errorf("%s: %s has SHA-256 %x, the file says %s", sums, m[2], sum, m[1])
		}
	}
	if diff := cmp.Diff(archives, named); diff != "" {
		t.Errorf("%s names (-want +got):\n%s", sums, diff)
	}
}

// readTarGz returns the regular files of a .tar.gz by name.
func readTarGz(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tr := tar.NewReader(zr)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if out[h.Name], err = io.ReadAll(tr); err != nil {
			t.Fatalf("%s: %s: %v", path, h.Name, err)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
