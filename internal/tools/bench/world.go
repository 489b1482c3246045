package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
)

// world is what the bulk apply wires: n functions, each with a queue, a
// target group and a route of an HTTP API shared by perAPI functions.
type world struct {
	dir    string // the definition files
	names  []string
	apis   []string // the HTTP API of each function
	routes []string // the route of each function
}

// createWorld creates the world's resources directly on moto (cfg), not
// through the proxy, and writes a definition file per function under dir.
// (AWS allows 300 routes per HTTP API by default.)
func createWorld(ctx context.Context, cfg aws.Config, n, perAPI int, dir string) (*world, error) {
	fx := awsfixture.New(cfg)
	w := &world{dir: dir, apis: make([]string, n), routes: make([]string, n)}
	for i := range n {
		w.names = append(w.names, fmt.Sprintf("bench-%03d", i))
	}
	for first := 0; first < n; first += perAPI {
		names := w.names[first:min(first+perAPI, n)]
		keys := make([]string, len(names))
		for i, name := range names {
			keys[i] = "POST /" + name
		}
		api, err := fx.HTTPAPI(ctx, fmt.Sprintf("bench-%d", first/perAPI), keys, map[string]map[string]string{"prod": nil})
		if err != nil {
			return nil, err
		}
		for i, k := range keys {
			w.apis[first+i], w.routes[first+i] = api.ID, api.Routes[k]
		}
	}
	// The first alone: it creates the functions' role.
	if err := w.createFunction(ctx, fx, 0); err != nil {
		return nil, err
	}
	errs := make([]error, n)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := 1; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = w.createFunction(ctx, fx, i)
		}()
	}
	wg.Wait()
	return w, errors.Join(errs...)
}

// createFunction creates one function's resources and writes its file.
func (w *world) createFunction(ctx context.Context, fx *awsfixture.Fixture, i int) error {
	name := w.names[i]
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
	path := filepath.Join(w.dir, name, contract.DefinitionFileName)
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
`, name, tg, w.apis[i], w.routes[i], q)
	return os.WriteFile(path, []byte(doc), 0o644)
}
