package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/eventwire/eventwire/internal/aws/awsconfig"
	"github.com/eventwire/eventwire/internal/aws/quota"
	"github.com/eventwire/eventwire/internal/cli"
	"github.com/eventwire/eventwire/internal/testkit/faultproxy"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

// region is moto's default region.
const region = "us-east-1"

// sdkConfig is eventwire's configuration (adaptive retry) for endpoint.
func sdkConfig(ctx context.Context, endpoint string) (aws.Config, error) {
	return awsconfig.Load(ctx, config.WithRegion(region), config.WithBaseEndpoint(endpoint),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}))
}

// lab is a part's AWS: moto, the quota proxy in front of it (adding
// o.Latency to every call), and a configuration that calls moto directly,
// for what is set up rather than measured.
type lab struct {
	moto   *mototest.Server
	proxy  *faultproxy.Proxy
	direct aws.Config
}

func startLab(ctx context.Context, o Options) (*lab, error) {
	moto, err := mototest.Start()
	if err != nil {
		return nil, err
	}
	p, err := faultproxy.Start(moto.URL, faultproxy.Config{Latency: o.Latency, Quotas: quotasUsed(), APIGatewayCooldown: faultproxy.AWSAPIGatewayCooldown, MissingFunctionListsNothing: true, UserDisableReasons: true, PolicyLimit: true, S3EncodesKeys: true})
	if err != nil {
		moto.Stop()
		return nil, err
	}
	direct, err := sdkConfig(ctx, moto.URL)
	if err != nil {
		p.Close()
		moto.Stop()
		return nil, err
	}
	return &lab{moto: moto, proxy: p, direct: direct}, nil
}

func (l *lab) stop() {
	l.proxy.Close()
	l.moto.Stop()
}

// resetMoto empties moto.
func resetMoto(url string) error {
	resp, err := http.Post(url+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reset moto: %s", resp.Status)
	}
	return nil
}

// run is one CLI command through the proxy.
type run struct {
	wall    time.Duration
	code    int
	failed  int // functions that failed
	counts  faultproxy.Snapshot
	summary string
}

var summaryRE = regexp.MustCompile(`(?m)^(?:Apply|Plan): .*?(\d+) failed\.$`)

// cliRun runs eventwire with args against the proxy, in this process, and
// returns what the proxy counted.
func cliRun(ctx context.Context, p *faultproxy.Proxy, args ...string) (run, error) {
	cfg, err := sdkConfig(ctx, p.URL)
	if err != nil {
		return run{}, err
	}
	p.Reset()
	start := time.Now()
	out, errOut, code := cliOutput(ctx, cfg, args...)
	r := run{wall: time.Since(start), code: code, counts: p.Snapshot()}
	if m := summaryRE.FindStringSubmatch(out); m != nil {
		r.summary = m[0]
		r.failed, _ = strconv.Atoi(m[1])
	}
	if code == 1 && r.failed == 0 {
		return r, fmt.Errorf("eventwire %v: exit 1: %s%s", args, errOut, tail(out))
	}
	return r, nil
}

// cliOutput runs eventwire with args on cfg, in this process: its
// standard output and error, and its exit status.
func cliOutput(ctx context.Context, cfg aws.Config, args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	env := cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" },
		AWSConfig: func(context.Context) (aws.Config, error) { return cfg, nil }}
	code = cli.Run(ctx, args, env)
	return out.String(), errOut.String(), code
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}

// buckets sums a snapshot's calls per quota bucket.
func buckets(s faultproxy.Snapshot) map[string]int {
	out := map[string]int{}
	for b, c := range s.Buckets {
		out[b] = c.Calls
	}
	return out
}

// countMappings counts the event source mappings moto holds, directly.
func countMappings(ctx context.Context, motoURL string) (int, error) {
	cfg, err := sdkConfig(ctx, motoURL)
	if err != nil {
		return 0, err
	}
	n := 0
	pg := lambda.NewListEventSourceMappingsPaginator(lambda.NewFromConfig(cfg), &lambda.ListEventSourceMappingsInput{})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("list event source mappings: %w", err)
		}
		n += len(page.EventSourceMappings)
	}
	return n, nil
}

// quotasUsed are the quotas the proxy enforces and eventwire paces by.
func quotasUsed() map[string]quota.Quota { return quota.Defaults() }
