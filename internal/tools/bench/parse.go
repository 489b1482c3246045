package bench

import (
	"os"
	"path/filepath"
	"time"

	"github.com/eventwire/eventwire/internal/definition"
)

// Parse is part 2: definition files parsed and validated per second.
type Parse struct {
	Files        int // distinct files in the corpus
	Parsed       int // parses made
	Bytes        int64
	Elapsed      time.Duration
	FilesPerSec  float64
	MBPerSec     float64
	CorpusSource string
}

// parseMin is how long the corpus is parsed, over and over.
const parseMin = 2 * time.Second

// parseThroughput parses and validates every definition file under dirs
// (with its sibling _lambdadef.json), from memory, over and over for
// parseMin.
func parseThroughput(dirs ...string) (Parse, error) {
	type file struct {
		path      string
		data, def []byte
	}
	var corpus []file
	var size int64
	for _, dir := range dirs {
		names, err := definition.Find(dir)
		if err != nil {
			continue // examples/ is optional
		}
		for _, name := range names {
			data, err := os.ReadFile(name)
			if err != nil {
				return Parse{}, err
			}
			def, _ := os.ReadFile(filepath.Join(filepath.Dir(name), "_lambdadef.json"))
			if _, err := definition.Parse(name, data, def); err != nil {
				return Parse{}, err
			}
			corpus = append(corpus, file{name, data, def})
			size += int64(len(data) + len(def))
		}
	}
	r := Parse{Files: len(corpus), CorpusSource: "the bulk apply's files and examples/"}
	start := time.Now()
	for time.Since(start) < parseMin {
		for _, f := range corpus {
			definition.Parse(f.path, f.data, f.def)
		}
		r.Parsed += len(corpus)
		r.Bytes += size
	}
	r.Elapsed = time.Since(start)
	r.FilesPerSec = float64(r.Parsed) / r.Elapsed.Seconds()
	r.MBPerSec = float64(r.Bytes) / 1e6 / r.Elapsed.Seconds()
	return r, nil
}
