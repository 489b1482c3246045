package deployer_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/aws/quota"
	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/deployer"
)

// The sweep's checks are paced at EVENTWIRE_SWEEP_SHARE of each quota
// bucket, split among EVENTWIRE_SWEEP_CONCURRENCY invocations.
func TestSweepQuotas_AreTheSharesOfEachBucket(t *testing.T) {
	q := map[string]quota.Quota{
		quota.Lambda:            {Rate: 15, Burst: 15},
		quota.LambdaGetFunction: {Rate: 100, Burst: 100},
		quota.APIGateway:        {Rate: 10, Burst: 40},
		quota.ELBMutate:         {Rate: 5, Burst: 2},
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want map[string]quota.Quota
	}{
		{"defaults: half, among 2", nil, map[string]quota.Quota{
			quota.Lambda:            {Rate: 3.75, Burst: 3},
			quota.LambdaGetFunction: {Rate: 25, Burst: 25},
			quota.APIGateway:        {Rate: 2.5, Burst: 10},
			quota.ELBMutate:         {Rate: 1.25, Burst: 1},
		}},
		{"a fifth, one invocation", map[string]string{contract.EnvSweepShare: "0.2", contract.EnvSweepConcurrency: "1"}, map[string]quota.Quota{
			quota.Lambda:            {Rate: 3, Burst: 3},
			quota.LambdaGetFunction: {Rate: 20, Burst: 20},
			quota.APIGateway:        {Rate: 2, Burst: 8},
			quota.ELBMutate:         {Rate: 1, Burst: 1},
		}},
		{"all, among 5", map[string]string{contract.EnvSweepShare: "1", contract.EnvSweepConcurrency: "5"}, map[string]quota.Quota{
			quota.Lambda:            {Rate: 3, Burst: 3},
			quota.LambdaGetFunction: {Rate: 20, Burst: 20},
			quota.APIGateway:        {Rate: 2, Burst: 8},
			quota.ELBMutate:         {Rate: 1, Burst: 1},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"EVENTWIRE_TABLE": "deployments"}
			for k, v := range tc.env {
				env[k] = v
			}
			s, err := deployer.SettingsFromEnv(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, s.SweepQuotas(q)); diff != "" {
				t.Errorf("sweep quotas (-want +got):\n%s", diff)
			}
			// Together, the concurrent checks never exceed the share.
			for name, b := range s.SweepQuotas(q) {
				if total := b.Rate * float64(s.SweepConcurrency); total > s.SweepShare*q[name].Rate+1e-9 {
					t.Errorf("%s: %v a second among %d invocations, over the share %v of %v", name, total, s.SweepConcurrency, s.SweepShare, q[name].Rate)
				}
			}
		})
	}
}
