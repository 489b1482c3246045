package iamcalls

import (
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one Allow statement of a Document. Condition maps an
// operator to condition keys and their values.
type Statement struct {
	Sid       string                         `json:"Sid"`
	Effect    string                         `json:"Effect"`
	Action    []string                       `json:"Action"`
	Resource  []string                       `json:"Resource"`
	Condition map[string]map[string][]string `json:"Condition,omitempty"`
}

// Policy is the least-privilege policy for the calls caller makes: only
// those that change nothing unless writes, each request's resource and
// condition values filled with v (IAM patterns). One statement per grant,
// sorted by grant.
func Policy(caller Caller, writes bool, v Values) Document {
	type grant struct {
		actions, resources map[string]bool
		cond               map[string]map[string]bool // key -> values
	}
	fill := v.Fill
	if strings.HasSuffix(v.Function, "*") {
		// The function pattern matches every qualifier already; appending
		// :* would stop it matching unqualified ARNs.
		fill = func(t string) string { return v.Fill(strings.ReplaceAll(t, QualifiedARN, FunctionARN)) }
	}
	grants := map[string]*grant{}
	for _, c := range Calls {
		if c.By&caller == 0 || c.Write && !writes {
			continue
		}
		for _, r := range c.Requests {
			g := grants[r.Grant]
			if g == nil {
				g = &grant{actions: map[string]bool{}, resources: map[string]bool{}, cond: map[string]map[string]bool{}}
				grants[r.Grant] = g
			}
			g.actions[r.Action] = true
			g.resources[fill(r.Resource)] = true
			for k, val := range r.Context {
				if g.cond[k] == nil {
					g.cond[k] = map[string]bool{}
				}
				g.cond[k][fill(val)] = true
			}
		}
	}
	doc := Document{Version: "2012-10-17"}
	for name, g := range grants {
		st := Statement{Sid: name, Effect: "Allow", Action: slices.Sorted(maps.Keys(g.actions)), Resource: minimal(slices.Sorted(maps.Keys(g.resources)))}
		for k, vals := range g.cond {
			op := conditionOperator(k, vals)
			if st.Condition == nil {
				st.Condition = map[string]map[string][]string{}
			}
			if st.Condition[op] == nil {
				st.Condition[op] = map[string][]string{}
			}
			st.Condition[op][k] = minimal(slices.Sorted(maps.Keys(vals)))
		}
		doc.Statement = append(doc.Statement, st)
	}
	sort.Slice(doc.Statement, func(i, j int) bool { return doc.Statement[i].Sid < doc.Statement[j].Sid })
	return doc
}

// conditionOperator is the operator for a condition key's values: ArnLike
// for ARN keys, StringLike for patterns, else StringEquals.
func conditionOperator(key string, values map[string]bool) string {
	if strings.HasSuffix(key, "Arn") {
		return "ArnLike"
	}
	for v := range values {
		if strings.ContainsAny(v, "*?") {
			return "StringLike"
		}
	}
	return "StringEquals"
}

// minimal drops the patterns that another pattern of the list already
// matches (function:orders-*:* under function:orders-*).
func minimal(patterns []string) []string {
	var out []string
	for i, p := range patterns {
		covered := false
		for j, q := range patterns {
			if i != j && p != q && Match(q, p) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, p)
		}
	}
	return out
}

// Match tells whether s matches the IAM pattern: * is any run of
// characters, ? one character.
func Match(pattern, s string) bool {
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	return regexp.MustCompile(re).MatchString(s)
}
