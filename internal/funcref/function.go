package funcref

// Function is the resolved target of a definition file: the reference as
// written, and what Lambda answered for it.
type Function struct {
	// Ref is the function as written in the file.
	Ref string `json:"ref"`
	// Name is the bare function name.
	Name string `json:"name"`
	// Qualifier is the alias or version, if the reference has one.
	Qualifier string `json:"qualifier,omitempty"`
	// ARN is the unqualified function ARN as AWS reports it (for a
	// missing function: as the reference, the account and the region
	// make it).
	ARN string `json:"arn"`
	// Missing is true when the function (or its qualifier) no longer
	// exists: only its teardown is planned, what AWS keeps after
	// DeleteFunction (mappings, target registrations, integrations).
	Missing bool `json:"missing,omitempty"`
}

// QualifiedARN is ARN with the qualifier, if any.
func (f Function) QualifiedARN() string { return Qualify(f.ARN, f.Qualifier) }

// At is the ARN of the function at qualifier ("" for the unqualified
// function).
func (f Function) At(qualifier string) string { return Qualify(f.ARN, qualifier) }

// Is reports whether functionARN, a function ARN as AWS reports it, is f
// with f's qualifier: an unqualified f is only the unqualified function
// ($LATEST being the same). When f has no ARN its name is compared.
func (f Function) Is(functionARN string) bool {
	got, err := Parse(functionARN)
	if err != nil {
		return false
	}
	if f.ARN != "" && got.Unqualified().String() != f.ARN {
		return false
	}
	return got.Equal(Ref{Name: f.Name, Qualifier: f.Qualifier})
}
