package records

// SiblingTag names the _lambdadef.json an S3 file was read with, as a
// source item keeps it: "-" for none, else "@" and the sibling's version
// ("@" alone for S3's null version, spelled "" or "null").
func SiblingTag(s Source) string {
	switch {
	case !s.HasSibling:
		return "-"
	case s.SiblingVersion == "null":
		return "@"
	}
	return "@" + s.SiblingVersion
}

// HasSourceFile reports whether the index has s, with the sibling it was
// read with, as the source's current file: HasFile(s.Version), and, when
// the newest file indexed is that version, the same sibling. A sibling
// not recorded (an item written before it was) counts as the same one
// when unknownSame, as a different one otherwise.
func (st SourceState) HasSourceFile(s Source, unknownSame bool) bool {
	if !st.HasFile(s.Version) || st.FileVersion != s.Version {
		return st.HasFile(s.Version)
	}
	if st.FileSibling == "" {
		return unknownSame
	}
	return st.FileSibling == SiblingTag(s)
}
