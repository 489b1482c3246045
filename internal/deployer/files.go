package deployer

import (
	"errors"
	"path"

	"github.com/eventwire/eventwire/internal/contract"
)

// MaxFileBytes is how much of a definition file is read: the parser
// refuses anything over 1 MiB, so one byte more is enough for it to say
// so.
const MaxFileBytes = 1<<20 + 1

// ErrNoObject: the file (or that version of it) does not exist.
var ErrNoObject = errors.New("no such object")

// IsDefinitionPath reports whether a key or path names a definition file.
func IsDefinitionPath(p string) bool { return path.Base(p) == contract.DefinitionFileName }
