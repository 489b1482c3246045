package trigger

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/eventwire/eventwire/internal/definition"
)

// NewArtifactS3 returns a builder of S3 clients that read pipeline
// artifacts with a job's own artifact credentials (not the function's
// role): cfg's region, endpoint and options, the job's keys.
func NewArtifactS3(cfg aws.Config, optFns ...func(*s3.Options)) func(events.CodePipelineArtifactCredentials) S3API {
	return func(c events.CodePipelineArtifactCredentials) S3API {
		jobCfg := cfg.Copy()
		jobCfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken))
		return s3.NewFromConfig(jobCfg, optFns...)
	}
}

// maxArtifactBytes bounds the size of one input artifact (a zip).
const maxArtifactBytes = 256 << 20

// pipelineFile is one definition file found in the input artifacts.
type pipelineFile struct {
	path        string // ARTIFACT/path/in/zip
	data, sib   []byte
	parsed      *definition.File
	invalidErrs []string
}

// artifactFiles reads every input artifact with the job's artifact
// credentials and returns the definition files in them, in artifact order
// and then by path.
func (h *Handler) artifactFiles(ctx context.Context, job events.CodePipelineJob) ([]*pipelineFile, error) {
	if h.cfg.ArtifactS3 == nil {
		return nil, errors.New("no S3 client for pipeline artifacts")
	}
	api := h.cfg.ArtifactS3(job.Data.ArtifactCredentials)
	var out []*pipelineFile
	for _, a := range job.Data.InputArtifacts {
		loc := a.Location.S3Location
		if a.Location.LocationType != "" && a.Location.LocationType != "S3" {
			return nil, fmt.Errorf("input artifact %s: location type %s, want S3", a.Name, a.Location.LocationType)
		}
		b, _, err := getObject(ctx, api, loc.BucketName, loc.ObjectKey, "", maxArtifactBytes+1)
		if err != nil {
			return nil, fmt.Errorf("input artifact %s: %w", a.Name, err)
		}
		if len(b) > maxArtifactBytes {
			return nil, fmt.Errorf("input artifact %s: larger than %d MiB", a.Name, maxArtifactBytes>>20)
		}
		files, err := zipDefinitions(a.Name, b)
		if err != nil {
			return nil, fmt.Errorf("input artifact %s (s3://%s/%s): %w", a.Name, loc.BucketName, loc.ObjectKey, err)
		}
		out = append(out, files...)
	}
	return out, nil
}

// zipDefinitions finds the definition files (and their siblings) in a zip.
func zipDefinitions(artifact string, b []byte) ([]*pipelineFile, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("read zip: %w", err)
	}
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		if !f.FileInfo().IsDir() {
			entries[strings.TrimPrefix(path.Clean("/"+f.Name), "/")] = f
		}
	}
	var names []string
	for name := range entries {
		if isDefinitionPath(name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var out []*pipelineFile
	for _, name := range names {
		data, err := readZipFile(entries[name], maxFileBytes)
		if err != nil {
			return nil, err
		}
		pf := &pipelineFile{path: artifact + "/" + name, data: data}
		if sib, ok := entries[strings.TrimPrefix(path.Join(path.Dir(name), definition.FunctionDefFileName), "./")]; ok {
			if pf.sib, err = readZipFile(sib, maxFileBytes); err != nil {
				return nil, err
			}
		}
		out = append(out, pf)
	}
	return out, nil
}

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
