package definition

import "fmt"

// Conflicts reports files that wire the same function (same name and
// qualifier, see FunctionRef.SameFunction): applying both would undo each
// other. Each error names the later file (in the order given) and the
// first one.
func Conflicts(files []*File) Errors {
	var errs Errors
	type seen struct {
		ref  FunctionRef
		file *File
	}
	var firsts []seen
	for _, f := range files {
		ref, ok := ParseFunctionRef(f.Function)
		if !ok {
			continue
		}
		dup := false
		for _, s := range firsts {
			if s.ref.SameFunction(ref) {
				errs = append(errs, &Error{File: f.Path, Msg: fmt.Sprintf("function %q is already wired by %s", f.Function, s.file.Path)})
				dup = true
				break
			}
		}
		if !dup {
			firsts = append(firsts, seen{ref, f})
		}
	}
	errs.sort()
	return errs
}
