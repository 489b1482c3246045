// Package funcref owns the function reference: the forms in which the
// Lambda API accepts a function (a name, a partial ARN, a full ARN, each
// optionally qualified with an alias or version), their parts, and the
// function a reference resolves to.
//
// It is plain data and string handling: the file's parser, the planners,
// the Lambda adapter and the records all read references through it.
//
// It imports only the standard library and internal/lazyre.
package funcref

import (
	"errors"
	"fmt"
	"strings"

	"github.com/eventwire/eventwire/internal/lazyre"
)

// Latest is the qualifier of a function's unpublished version. A reference
// qualified with it names the same function as the unqualified reference.
const Latest = "$LATEST"

// Ref is a function reference split into its parts. Only Name is always
// set; Partition, Region and Account are set only where the reference
// gives them.
type Ref struct {
	Partition string // "aws", "aws-cn", ... (full ARNs only)
	Region    string
	Account   string
	Name      string
	// Qualifier is the alias or version ("live", "7", "$LATEST"), "" for
	// none.
	Qualifier string
}

// pattern is the API's NamespacedFunctionName pattern, with groups for the
// parts.
var pattern = lazyre.New(`^(?:arn:(aws[a-zA-Z-]*)?:lambda:)?(?:([a-z]{2}(?:(?:-gov)|(?:-iso(?:[a-z]?)))?-[a-z]+-\d{1}):)?(?:(\d{12}):)?(?:function:)?([a-zA-Z0-9-_\.]+)(?::(\$LATEST(?:\.PUBLISHED)?|[a-zA-Z0-9-_]+))?$`)

// ErrInvalid is wrapped by the error of a string that is no function
// reference.
var ErrInvalid = errors.New("not a function name or ARN")

// Bounds of FunctionName in the Lambda API: a reference is at most
// MaxLength characters, and the function's name in it at most
// MaxNameLength ("If you specify only the function name, it's limited to
// 64 characters in length"; a function's name is never longer).
const (
	MaxLength     = 256
	MaxNameLength = 64
)

// Check is Parse, and also refuses a reference longer than the API's
// bounds (MaxLength, MaxNameLength): what passes Check is a function
// reference the Lambda API could accept, safe to use as a key.
func Check(s string) (Ref, error) {
	if len(s) > MaxLength {
		return Ref{}, fmt.Errorf("function reference of %d characters, over %d: %w", len(s), MaxLength, ErrInvalid)
	}
	r, err := Parse(s)
	if err != nil {
		return Ref{}, err
	}
	if len(r.Name) > MaxNameLength {
		return Ref{}, fmt.Errorf("function name %q is %d characters long, over %d: %w", r.Name, len(r.Name), MaxNameLength, ErrInvalid)
	}
	return r, nil
}

// Parse splits a function reference as the Lambda API accepts it in
// FunctionName:
//
//	orders                                                 name
//	orders:live                                            name and qualifier
//	123456789012:function:orders[:live]                    partial ARN
//	arn:aws:lambda:us-east-1:123456789012:function:orders[:live]  ARN
func Parse(s string) (Ref, error) {
	m := pattern.FindStringSubmatch(s)
	if m == nil {
		return Ref{}, fmt.Errorf("function reference %q: %w", s, ErrInvalid)
	}
	r := Ref{Partition: m[1], Region: m[2], Account: m[3], Name: m[4], Qualifier: m[5]}
	// Without "function:" the pattern's ARN parts are ambiguous:
	// "123456789012:live" is a 12-digit name with a qualifier, and a
	// region without an account names no function.
	if !strings.Contains(s, "function:") && (r.Region != "" || r.Account != "" || r.Partition != "") {
		if r.Partition == "" && r.Region == "" && r.Qualifier == "" {
			return Ref{Name: r.Account, Qualifier: r.Name}, nil
		}
		return Ref{}, fmt.Errorf("function reference %q: an account or region needs \"function:\" before the name: %w", s, ErrInvalid)
	}
	if r.Partition == "" && strings.HasPrefix(s, "arn:") {
		return Ref{}, fmt.Errorf("function reference %q: an ARN needs a partition: %w", s, ErrInvalid)
	}
	return r, nil
}

// Name returns the bare function name of s, or s itself when s is not a
// function reference.
func Name(s string) string {
	r, err := Parse(s)
	if err != nil {
		return s
	}
	return r.Name
}

// Unqualified is r without its qualifier.
func (r Ref) Unqualified() Ref {
	r.Qualifier = ""
	return r
}

// String writes r back in the form it was given: the parts it has, in the
// order the API writes them ("function:" alone, which the API allows
// before a name, is dropped).
func (r Ref) String() string {
	var b strings.Builder
	if r.Partition != "" {
		b.WriteString("arn:" + r.Partition + ":lambda:")
	}
	if r.Region != "" {
		b.WriteString(r.Region + ":")
	}
	if r.Account != "" {
		b.WriteString(r.Account + ":")
	}
	if b.Len() > 0 {
		b.WriteString("function:")
	}
	b.WriteString(r.Name)
	return Qualify(b.String(), r.Qualifier)
}

// ARN is the unqualified function ARN of r. r's own partition, region and
// account win over the ones given, which fill what r lacks.
func (r Ref) ARN(partition, region, account string) string {
	full := Ref{Partition: or(r.Partition, partition), Region: or(r.Region, region), Account: or(r.Account, account), Name: r.Name}
	return "arn:" + full.Partition + ":lambda:" + full.Region + ":" + full.Account + ":function:" + full.Name
}

// QualifiedARN is ARN with r's qualifier, if it has one.
func (r Ref) QualifiedARN(partition, region, account string) string {
	return Qualify(r.ARN(partition, region, account), r.Qualifier)
}

// Equal reports whether r and o name the same function and the same
// qualifier: names equal, qualifiers equal ($LATEST being no qualifier),
// and partition, region and account equal wherever both give them (a name
// and the ARN of that function are equal; orders and orders:live are not).
func (r Ref) Equal(o Ref) bool {
	eq := func(x, y string) bool { return x == "" || y == "" || x == y }
	return r.Name == o.Name && unlatest(r.Qualifier) == unlatest(o.Qualifier) &&
		eq(r.Partition, o.Partition) && eq(r.Region, o.Region) && eq(r.Account, o.Account)
}

// Qualify appends qualifier to a function name or ARN; an empty qualifier
// leaves it as it is.
func Qualify(function, qualifier string) string {
	if qualifier == "" {
		return function
	}
	return function + ":" + qualifier
}

func unlatest(q string) string {
	if q == Latest {
		return ""
	}
	return q
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
