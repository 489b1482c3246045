package cli

import "github.com/eventwire/eventwire/internal/definition"

// FormatVersion is the version of eventwire's JSON output documents
// (validate, plan, apply and destroy with -o json). It changes in its minor
// number when fields are added, in its major number when a field changes
// meaning or goes away; docs/output.schema.json describes it.
const FormatVersion = "1.0"

// validateDocument is `validate -o json`.
type validateDocument struct {
	FormatVersion string          `json:"format_version"`
	Command       string          `json:"command"`
	Valid         bool            `json:"valid"`
	FilesChecked  int             `json:"files_checked"`
	Errors        []documentError `json:"errors"`
}

// documentError is one problem of a file: where it is and what it is.
// Line and Column are null for a problem of the file as a whole (its
// size); Path is "" for the document itself.
type documentError struct {
	File    string `json:"file"`
	Line    *int   `json:"line"`
	Column  *int   `json:"column"`
	Path    string `json:"path"`
	Message string `json:"message"`
}

func newValidateDocument(c checked) validateDocument {
	return validateDocument{
		FormatVersion: FormatVersion,
		Command:       "validate",
		Valid:         len(c.problems) == 0,
		FilesChecked:  c.names,
		Errors:        documentErrors(c.problems),
	}
}

func documentErrors(problems []*definition.Error) []documentError {
	out := make([]documentError, 0, len(problems))
	for _, p := range problems {
		e := documentError{File: p.File, Path: p.Path, Message: p.Msg}
		if p.Line > 0 {
			e.Line, e.Column = &p.Line, &p.Column
		}
		out = append(out, e)
	}
	return out
}
