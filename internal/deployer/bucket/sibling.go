package bucket

import (
	"context"
	"path"

	"github.com/eventwire/eventwire/internal/contract"
)

// A definition file may name its function only through the
// _lambdadef.json beside it, which the file is validated with. A put or a
// removal of that sibling changes what the definition declares although
// the definition's own key did not change: so its event re-indexes the
// definition file beside it, at its current version with the sibling as
// S3 serves it now (current.go), as CodeCommit re-reads a definition
// whose sibling a push changed (internal/deployer/branch). The stack
// subscribes the deployer to the sibling's suffix too (infra/sources.go);
// the sweep's catch-up compares the sibling's version as well
// (catchup.go), for the events that were lost.
//
// The sibling's sequencer orders the sibling's key, not the definition's:
// it is never stored, and the definition is indexed without one.

// definitionKey is the key of the definition file beside a
// _lambdadef.json key.
func definitionKey(siblingKey string) string {
	dir := path.Dir(siblingKey)
	if dir == "." {
		return contract.DefinitionFileName
	}
	return dir + "/" + contract.DefinitionFileName
}

// s3Sibling re-indexes the definition file beside the _lambdadef.json the
// event c is about, if there is one.
func (bk *Source) s3Sibling(ctx context.Context, c *s3Change) error {
	d := &s3Change{bucket: c.bucket, key: definitionKey(c.key), event: c.event, removed: c.removed}
	d.log = c.log.With("definition", d.key)
	return bk.indexCurrentOf(ctx, d, func() error {
		d.log.InfoContext(ctx, "ignored S3 event of a _lambdadef.json: no definition file beside it")
		return nil
	})
}
