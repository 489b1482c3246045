package reliability

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/eventwire/eventwire/internal/aws/awsconfig"
	"github.com/eventwire/eventwire/internal/cli"
	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
	"github.com/eventwire/eventwire/internal/testkit/faultproxy"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// world is n functions, each with a queue, a target group and a route of
// one shared HTTP API, their definition files, and what eventwire does not
// own: a mapping made by hand on the first function, a statement in its
// policy, and a route of the API pointed at a hand-made integration.
type world struct {
	dir                string
	fns, queues, tgs   []string // by function
	api                string
	routes             []string // by function
	foreignMapping     string   // UUID
	foreignRoute       string
	foreignIntegration string
	moto               *mototest.Server
	fx                 *awsfixture.Fixture
}

func newWorld(t *testing.T, n int) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{dir: t.TempDir(), moto: mototest.Fresh(t)}
	w.fx = awsfixture.New(w.moto.Config(t))
	keys := []string{"GET /foreign"}
	for i := range n {
		keys = append(keys, fmt.Sprintf("POST /f%d", i))
	}
	api, err := w.fx.HTTPAPI(ctx, "shared", keys, nil)
	must(t, err)
	w.api = api.ID
	for i := range n {
		name := fmt.Sprintf("f%d", i)
		arn, err := w.fx.Function(ctx, name)
		must(t, err)
		q, err := w.fx.Queue(ctx, name)
		must(t, err)
		tg, err := w.fx.TargetGroup(ctx, name)
		must(t, err)
		w.fns, w.queues, w.tgs = append(w.fns, arn), append(w.queues, q), append(w.tgs, tg)
		w.routes = append(w.routes, api.Routes[keys[i+1]])
		w.write(t, name, tg, q, api.Routes[keys[i+1]], 10)
	}
	w.foreign(t, api.Routes["GET /foreign"])
	return w
}

// write writes a function's definition file.
func (w *world) write(t *testing.T, name, tg, queue, route string, batch int) {
	t.Helper()
	path := filepath.Join(w.dir, name, contract.DefinitionFileName)
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	doc := fmt.Sprintf(`{"FunctionName": %q,
  "PushEventSources": [
    {"Service": "elasticloadbalancing.amazonaws.com", "TargetGroupArn": %q},
    {"Service": "apigateway.amazonaws.com", "ApiId": %q, "RouteId": %q}],
  "PullEventSources": {"EventSourceMapping": {"EventSourceArn": %q, "BatchSize": %d}}}`, name, tg, w.api, route, queue, batch)
	must(t, os.WriteFile(path, []byte(doc), 0o644))
}

// foreign makes what eventwire must leave alone.
func (w *world) foreign(t *testing.T, route string) {
	ctx := context.Background()
	q, err := w.fx.Queue(ctx, "foreign")
	must(t, err)
	m, err := w.fx.Lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{
		FunctionName: aws.String(w.fns[0]), EventSourceArn: aws.String(q), BatchSize: aws.Int32(3)})
	must(t, err)
	w.foreignMapping = aws.ToString(m.UUID)
	_, err = w.fx.Lambda.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(w.fns[0]),
		StatementId: aws.String("hand-made"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("s3.amazonaws.com")})
	must(t, err)
	in, err := w.fx.API.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: aws.String(w.api),
		IntegrationType: "AWS_PROXY", IntegrationUri: aws.String(w.fns[0]), PayloadFormatVersion: aws.String("2.0")})
	must(t, err)
	w.foreignIntegration, w.foreignRoute = aws.ToString(in.IntegrationId), route
	_, err = w.fx.API.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{ApiId: aws.String(w.api), RouteId: aws.String(route),
		Target: aws.String("integrations/" + w.foreignIntegration)})
	must(t, err)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// cliConfig is the CLI's AWS configuration (adaptive retry, as the real
// binary loads it) pointed at endpoint.
func cliConfig(t *testing.T, endpoint string) aws.Config {
	t.Helper()
	cfg, err := awsconfig.Load(context.Background(), config.WithRegion(mototest.Region), config.WithBaseEndpoint(endpoint),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}))
	must(t, err)
	return cfg
}

// eventwire runs the CLI in this process against the proxy.
func eventwire(t *testing.T, p *faultproxy.Proxy, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cfg := cliConfig(t, p.URL)
	var out, errOut bytes.Buffer
	env := cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" },
		AWSConfig: func(context.Context) (aws.Config, error) { return cfg, nil }}
	code = cli.Run(context.Background(), args, env)
	return code, out.String(), errOut.String()
}

// converged applies once more and plans: no changes, exit 0.
func (w *world) converged(t *testing.T, p *faultproxy.Proxy) {
	t.Helper()
	if code, out, errOut := eventwire(t, p, "plan", "--detailed-exitcode", w.dir); code != 0 {
		t.Errorf("plan after the run: exit %d, want 0 (no changes):\n%s%s", code, out, errOut)
	}
}
