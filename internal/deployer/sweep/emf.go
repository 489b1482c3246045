package sweep

import (
	"context"
	"encoding/json"
	"os"
	"time"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/deployer"
)

// metric is one value of an Embedded Metric Format line.
type metric struct {
	name, unit string
	value      float64
}

// emitMetrics writes one CloudWatch Embedded Metric Format line: the
// metrics, in namespace MetricNamespace, with the dimension MetricDimension
// (the deployer's name), at time at.
//
// The line is the whole log event, a JSON object with "_aws" at its root,
// written straight to the function's standard output rather than through
// the slog handler (which would put it under its own keys): Lambda passes
// a provided.al2023 function's application lines through unchanged, in
// the JSON log format too, and CloudWatch Logs extracts the metrics of any
// log event that is such an object. It also has "level", "message" and,
// in an invocation, "requestId", like the deployer's other lines.
func (s *Sweep) emitMetrics(ctx context.Context, at time.Time, ms ...metric) {
	name := s.h.Self()
	if name == "" {
		name = "eventwire"
	}
	defs := make([]map[string]string, len(ms))
	line := map[string]any{
		contract.MetricDimension: name,
		"level":                  "INFO",
		"message":                "sweep metrics",
	}
	if id := deployer.RequestID(ctx); id != "" {
		line["requestId"] = id
	}
	for i, m := range ms {
		defs[i] = map[string]string{"Name": m.name, "Unit": m.unit}
		line[m.name] = m.value
	}
	line["_aws"] = map[string]any{
		"Timestamp": at.UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace":  contract.MetricNamespace,
			"Dimensions": [][]string{{contract.MetricDimension}},
			"Metrics":    defs,
		}},
	}
	b, err := json.Marshal(line)
	if err != nil {
		s.log.ErrorContext(ctx, "encode metrics", "error", err.Error())
		return
	}
	w := s.cfg.Metrics
	if w == nil {
		w = os.Stdout
	}
	s.metricsMu.Lock()
	defer s.metricsMu.Unlock()
	if _, err := w.Write(append(b, '\n')); err != nil {
		s.log.ErrorContext(ctx, "write metrics", "error", err.Error())
	}
}
