package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/eventwire/eventwire/internal/awsfixture"
	"github.com/eventwire/eventwire/internal/definition"
)

// world is what the bulk apply wires: n functions, each with a queue, a
// target group and a route of one shared HTTP API.
type world struct {
	dir   string // the definition files
	api   string // the shared HTTP API's id
	names []string
}

// createWorld creates the world's resources directly on moto (cfg), not
// through the proxy, and writes a definition file per function under dir.
func createWorld(ctx context.Context, cfg aws.Config, n int, dir string) (*world, error) {
	fx := awsfixture.New(cfg)
	w := &world{dir: dir}
	keys := make([]string, n)
	for i := range n {
		w.names = append(w.names, fmt.Sprintf("bench-%03d", i))
		keys[i] = "POST /" + w.names[i]
	}
	api, err := fx.HTTPAPI(ctx, "bench", keys, map[string]map[string]string{"prod": nil})
	if err != nil {
		return nil, err
	}
	w.api = api.ID
	// The first alone: it creates the functions' role.
	if err := w.createFunction(ctx, fx, w.names[0], api.Routes[keys[0]]); err != nil {
		return nil, err
	}
	errs := make([]error, n)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, name := range w.names[1:] {
		i++
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = w.createFunction(ctx, fx, name, api.Routes[keys[i]])
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return w, nil
}

// createFunction creates one function's resources and writes its file.
func (w *world) createFunction(ctx context.Context, fx *awsfixture.Fixture, name, routeID string) error {
	if _, err := fx.Function(ctx, name); err != nil {
		return err
	}
	q, err := fx.Queue(ctx, name)
	if err != nil {
		return err
	}
	tg, err := fx.TargetGroup(ctx, name)
	if err != nil {
		return err
	}
	path := filepath.Join(w.dir, name, definition.FileName)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	doc := fmt.Sprintf(`{
  "FunctionName": %q,
  "PushEventSources": [
    {"Service": "elasticloadbalancing.amazonaws.com", "TargetGroupArn": %q},
    {"Service": "apigateway.amazonaws.com", "ApiId": %q, "RouteId": %q}
  ],
  "PullEventSources": {"EventSourceMapping": {"EventSourceArn": %q, "BatchSize": 10}}
}
`, name, tg, w.api, routeID, q)
	return os.WriteFile(path, []byte(doc), 0o644)
}
