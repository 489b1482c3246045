package definition

import "fmt"

// Conflicts reports files that would undo each other on every apply: two
// that wire the same function (same name and qualifier, see
// FunctionRef.SameFunction), and two that give one push source, which
// holds a single target (a Lambda target group, an API route), to
// different functions. Each error names the later file (in the order
// given) and the first one.
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
			if s.ref.Equal(ref) {
				errs = append(errs, &Error{File: f.Path, Line: f.functionAt.line, Column: f.functionAt.col, Path: f.functionPath,
					Msg: fmt.Sprintf("function %q is already wired by %s", f.Function, s.file.Path)})
				dup = true
				break
			}
		}
		if !dup {
			firsts = append(firsts, seen{ref, f})
		}
	}
	errs = append(errs, pushConflicts(files)...)
	errs.sort()
	return errs
}

// pushConflicts reports a target group or an API route claimed by files of
// different functions.
func pushConflicts(files []*File) Errors {
	var errs Errors
	type claim struct {
		ref  FunctionRef
		file *File
	}
	claims := map[string]claim{}
	for _, f := range files {
		ref, ok := ParseFunctionRef(f.Function)
		if !ok {
			continue
		}
		for i, p := range f.Push {
			var key, what string
			switch p.Service {
			case ServiceELB:
				key, what = "tg "+p.TargetGroupArn, "target group "+p.TargetGroupArn
			case ServiceAPIGateway:
				key, what = "route "+p.ApiId+"/"+p.RouteId, fmt.Sprintf("route %s of API %s", p.RouteId, p.ApiId)
			default:
				continue
			}
			c, dup := claims[key]
			if !dup {
				claims[key] = claim{ref, f}
				continue
			}
			if !c.ref.Equal(ref) {
				var at position
				if i < len(f.pushAt) {
					at = f.pushAt[i]
				}
				errs = append(errs, &Error{File: f.Path, Line: at.line, Column: at.col, Path: fmt.Sprintf("PushEventSources[%d]", i),
					Msg: fmt.Sprintf("%s is already wired to function %q by %s: it can invoke only one", what, c.file.Function, c.file.Path)})
			}
		}
	}
	return errs
}
