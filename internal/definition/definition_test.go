package definition

import "flag"

var update = flag.Bool("update", false, "rewrite golden files and schema.json")
