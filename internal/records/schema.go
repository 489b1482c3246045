package records

// The table's schema, which the deployer's stack (infra) creates: a string
// partition key, a string sort key, and the TTL attribute (epoch seconds)
// through which deployment records expire.
const (
	PartitionKey = attrPK
	SortKey      = attrSK
	TTLAttribute = attrExpires
)
