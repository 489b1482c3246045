package pipeline

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/deployer"
)

// ArtifactAPI is the slice of the S3 client that reads a job's input
// artifacts (with the job's own credentials).
type ArtifactAPI interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// NewArtifactS3 returns a builder of S3 clients that read pipeline
// artifacts with a job's own artifact credentials (not the function's
// role): cfg's region, endpoint and options, the job's keys.
func NewArtifactS3(cfg aws.Config, optFns ...func(*s3.Options)) func(events.CodePipelineArtifactCredentials) ArtifactAPI {
	return func(c events.CodePipelineArtifactCredentials) ArtifactAPI {
		jobCfg := cfg.Copy()
		jobCfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken))
		return s3.NewFromConfig(jobCfg, optFns...)
	}
}

// ArtifactLimits bound what a pipeline job's input artifacts may make the
// deployer hold, so that a zip bomb fails the job (answered with the
// limit it broke) instead of exhausting the function's memory or /tmp.
// Zero fields take the defaults.
type ArtifactLimits struct {
	// ZipBytes bounds the size of one artifact (a zip), which is
	// streamed to a temporary file, not held in memory.
	ZipBytes int64
	// Entries bounds the number of entries of one zip.
	Entries int
	// DefinitionBytes bounds the uncompressed bytes of the definition
	// files (and the _lambdadef.json beside them) read from all of a
	// job's artifacts together. Each file is read to at most 1 MiB and a
	// byte (the parser refuses a larger one, naming it); no other entry
	// is read at all.
	DefinitionBytes int64
}

// Defaults of ArtifactLimits.
const (
	DefaultArtifactZipBytes    = 256 << 20
	DefaultArtifactEntries     = 20_000
	DefaultArtifactDefinitions = 32 << 20
)

// withDefaults fills the zero fields of l.
func (l ArtifactLimits) withDefaults() ArtifactLimits {
	if l.ZipBytes <= 0 {
		l.ZipBytes = DefaultArtifactZipBytes
	}
	if l.Entries <= 0 {
		l.Entries = DefaultArtifactEntries
	}
	if l.DefinitionBytes <= 0 {
		l.DefinitionBytes = DefaultArtifactDefinitions
	}
	return l
}

// directoryBytesPerEntry bounds how much of a zip's central directory is
// parsed, per entry allowed: archive/zip holds about five times a
// directory's size in memory before the entries can be counted, so the
// parse itself is bounded (400 bytes an entry: a name of about 300
// characters with its extra fields).
const directoryBytesPerEntry = 400

// pipelineFile is one definition file found in the input artifacts.
type pipelineFile struct {
	path      string // ARTIFACT/path/in/zip
	data, sib []byte
	parsed    *definition.File
}

// artifactFiles reads every input artifact with the job's artifact
// credentials and returns the definition files in them, in artifact order
// and then by path.
func (pl *Source) artifactFiles(ctx context.Context, job events.CodePipelineJob) ([]*pipelineFile, error) {
	if pl.cfg.ArtifactS3 == nil {
		return nil, errors.New("no S3 client for pipeline artifacts")
	}
	lim := pl.cfg.ArtifactLimits.withDefaults()
	ar := &artifactReader{api: pl.cfg.ArtifactS3(job.Data.ArtifactCredentials), lim: lim, budget: lim.DefinitionBytes}
	var out []*pipelineFile
	for _, a := range job.Data.InputArtifacts {
		if a.Location.LocationType != "" && a.Location.LocationType != "S3" {
			return nil, fmt.Errorf("input artifact %s: location type %s, want S3", a.Name, a.Location.LocationType)
		}
		loc := a.Location.S3Location
		files, err := ar.read(ctx, a.Name, loc)
		if err != nil {
			return nil, fmt.Errorf("input artifact %s (s3://%s/%s): %w", a.Name, loc.BucketName, loc.ObjectKey, err)
		}
		out = append(out, files...)
	}
	return out, nil
}

// artifactReader reads one job's input artifacts within its limits; budget
// is what is left of lim.DefinitionBytes, spent as files are read.
type artifactReader struct {
	api    ArtifactAPI
	lim    ArtifactLimits
	budget int64
}

// read streams one artifact to a temporary file, removed on return, and
// finds the definition files in it.
func (ar *artifactReader) read(ctx context.Context, name string, loc events.CodePipelineS3Location) ([]*pipelineFile, error) {
	tmp, err := os.CreateTemp("", "eventwire-artifact-*.zip")
	if err != nil {
		return nil, fmt.Errorf("temporary file for the zip: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	size, err := ar.download(ctx, loc, tmp)
	if err != nil {
		return nil, err
	}
	return ar.definitions(name, tmp, size)
}

// download copies the artifact's object to w, refusing one larger than
// lim.ZipBytes, and returns its size.
func (ar *artifactReader) download(ctx context.Context, loc events.CodePipelineS3Location, w io.Writer) (int64, error) {
	bucket, key, limit := loc.BucketName, loc.ObjectKey, ar.lim.ZipBytes
	out, err := ar.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return 0, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	tooLarge := fmt.Errorf("the zip is larger than the limit of %s", mib(limit))
	if aws.ToInt64(out.ContentLength) > limit {
		return 0, tooLarge
	}
	n, err := io.Copy(w, io.LimitReader(out.Body, limit+1))
	if err != nil {
		return 0, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	if n > limit {
		return 0, tooLarge
	}
	return n, nil
}

// definitions finds the definition files (and their siblings) in a zip
// of size bytes, within the limits, and spends the budget on them.
func (ar *artifactReader) definitions(artifact string, r io.ReaderAt, size int64) ([]*pipelineFile, error) {
	lim := ar.lim
	entries, err := zipEntries(r, size, lim.Entries)
	if err != nil {
		return nil, err
	}
	var names []string
	for name := range entries {
		if deployer.IsDefinitionPath(name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	// Each entry to read, with its sibling: what reading them may cost
	// is known before anything is inflated, since archive/zip fails an
	// entry that inflates to more than it declares.
	var toRead []*zip.File
	sibOf := map[string]*zip.File{}
	for _, name := range names {
		toRead = append(toRead, entries[name])
		if sib, ok := entries[strings.TrimPrefix(path.Join(path.Dir(name), contract.FunctionDefFileName), "./")]; ok {
			sibOf[name] = sib
			toRead = append(toRead, sib)
		}
	}
	var need uint64
	for _, f := range toRead {
		need += min(f.UncompressedSize64, deployer.MaxFileBytes)
	}
	if need > uint64(ar.budget) {
		return nil, fmt.Errorf("its %d definition file(s) hold more than the %s of definition files a job may have, uncompressed (each read to at most 1 MiB)", len(names), mib(lim.DefinitionBytes))
	}
	ar.budget -= int64(need)
	var out []*pipelineFile
	for _, name := range names {
		pf := &pipelineFile{path: artifact + "/" + name}
		if pf.data, err = readZipFile(entries[name], deployer.MaxFileBytes); err != nil {
			return nil, err
		}
		if sib, ok := sibOf[name]; ok {
			if pf.sib, err = readZipFile(sib, deployer.MaxFileBytes); err != nil {
				return nil, err
			}
		}
		out = append(out, pf)
	}
	return out, nil
}

// errDirectoryTooLarge: a zip's central directory is over its budget.
var errDirectoryTooLarge = errors.New("central directory over its budget")

// budgetReaderAt fails reads once left bytes have been read.
type budgetReaderAt struct {
	r    io.ReaderAt
	left int64
}

func (b *budgetReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if int64(len(p)) > b.left {
		return 0, errDirectoryTooLarge
	}
	b.left -= int64(len(p))
	return b.r.ReadAt(p, off)
}

// zipEntries opens a zip of at most maxEntries entries and returns its
// files (not directories) by cleaned path. Its central directory is
// parsed within a budget of maxEntries entries, before it is counted.
func zipEntries(r io.ReaderAt, size int64, maxEntries int) (map[string]*zip.File, error) {
	br := &budgetReaderAt{r: r, left: int64(maxEntries)*directoryBytesPerEntry + 128<<10} // and the end records
	zr, err := zip.NewReader(br, size)
	if errors.Is(err, errDirectoryTooLarge) {
		return nil, fmt.Errorf("the zip's central directory is larger than %d entries may take (%s): more than the limit of %d entries", maxEntries, mib(int64(maxEntries)*directoryBytesPerEntry), maxEntries)
	}
	if err != nil {
		return nil, fmt.Errorf("read zip: %w", err)
	}
	br.left = math.MaxInt64 // the entries themselves are bounded as they are read
	if len(zr.File) > maxEntries {
		return nil, fmt.Errorf("the zip has %d entries, more than the limit of %d", len(zr.File), maxEntries)
	}
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		if !f.FileInfo().IsDir() {
			entries[strings.TrimPrefix(path.Clean("/"+f.Name), "/")] = f
		}
	}
	return entries, nil
}

// readZipFile reads at most limit bytes of an entry, inflating no more.
func readZipFile(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("open %s in zip: %w", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit))
	if err != nil {
		return nil, fmt.Errorf("read %s in zip: %w", f.Name, err)
	}
	return b, nil
}

// mib writes a byte count in MiB (or bytes, under one).
func mib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%d MiB", n>>20)
}
