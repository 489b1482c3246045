package pull

import (
	"github.com/eventwire/eventwire/internal/definition"
)

// defaults returns the mapping that holds the service's defaults for the
// fields of m's source type (definition.Defaults, with Kafka's Queue
// consumption mode taken into account): what AWS reports for a field that
// a mapping of that source leaves out.
func defaults(m definition.Mapping) definition.Mapping {
	return definition.WithDefaults(definition.Mapping{
		EventSourceArn:                    m.EventSourceArn,
		SelfManagedEventSource:            m.SelfManagedEventSource,
		SelfManagedKafkaEventSourceConfig: m.SelfManagedKafkaEventSourceConfig,
	})
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
