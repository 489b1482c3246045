package trigger_test

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/eventwire/eventwire/internal/definition"
)

// parseFile is the parser handler tests use.
// TODO: switch to definition.Parse once it lands.
var parseFile = testParse

// testParse is a stand-in for definition.Parse: strict on top-level keys,
// resolving the function from the top level, the sibling or the mappings.
func testParse(path string, data, functionDef []byte) (*definition.File, error) {
	var top struct {
		FunctionName     string
		PushEventSources []definition.PushSource
		PullEventSources struct {
			EventSourceMapping json.RawMessage
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("%s:1:1: %v", path, err)
	}
	f := &definition.File{Path: path, Function: top.FunctionName, Push: top.PushEventSources}
	if m := top.PullEventSources.EventSourceMapping; len(m) > 0 {
		if m[0] == '[' {
			if err := json.Unmarshal(m, &f.Pull); err != nil {
				return nil, fmt.Errorf("%s:1:1: %v", path, err)
			}
		} else {
			var one definition.Mapping
			if err := json.Unmarshal(m, &one); err != nil {
				return nil, fmt.Errorf("%s:1:1: %v", path, err)
			}
			f.Pull = []definition.Mapping{one}
		}
	}
	if f.Function == "" && functionDef != nil {
		var def struct{ FunctionName string }
		_ = json.Unmarshal(functionDef, &def)
		f.Function = def.FunctionName
	}
	if f.Function == "" && len(f.Pull) > 0 && f.Pull[0].FunctionName != nil {
		f.Function = *f.Pull[0].FunctionName
	}
	if f.Function == "" {
		return nil, fmt.Errorf("%s:1:1: (root): no target function", path)
	}
	return f, nil
}
