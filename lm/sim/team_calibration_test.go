package sim_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/lm/sim"
	"github.com/mabeam/mabeam/team"
)

// teamAccuracy runs spec on exs and returns the fraction answered right.
func teamAccuracy(t testing.TB, m *sim.Model, spec team.Spec, exs []datasets.Example) float64 {
	t.Helper()
	tm, err := team.New(spec, m, &team.Options{NoTrace: true})
	if err != nil {
		t.Fatalf("team.New: %v", err)
	}
	right := 0
	for _, ex := range exs {
		res, err := tm.Run(context.Background(), ex)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if res.Answer == ex.Answer {
			right++
		}
	}
	return float64(right) / float64(len(exs))
}

func agents(models ...string) []team.AgentSpec {
	out := make([]team.AgentSpec, len(models))
	for i, mo := range models {
		out[i] = team.AgentSpec{ID: fmt.Sprintf("a%d", i+1), Model: mo}
	}
	return out
}

func withRoles(as []team.AgentSpec, roles ...string) []team.AgentSpec {
	for i, r := range roles {
		as[i].Role = r
	}
	return as
}

// meshEdges connects every pair of agents both ways.
func meshEdges(as []team.AgentSpec) []team.Edge {
	var es []team.Edge
	for _, a := range as {
		for _, b := range as {
			if a.ID != b.ID {
				es = append(es, team.Edge{From: a.ID, To: b.ID})
			}
		}
	}
	return es
}

// randomSpec draws a team the way a random search over a broad space would:
// 1-5 agents of any profile, role, temperature and instruction, no debate, a
// chain or a mesh, and any aggregation.
func randomSpec(r *rand.Rand) team.Spec {
	models := []string{"sim-small", "sim-medium", "sim-large", "sim-adversary"}
	roles := []string{"solver", "solver", "critic", "planner"}
	n := 1 + r.IntN(5)
	as := make([]team.AgentSpec, n)
	for i := range as {
		as[i] = team.AgentSpec{ID: fmt.Sprintf("a%d", i+1), Model: models[r.IntN(len(models))], Role: roles[r.IntN(len(roles))],
			Temperature: float64(r.IntN(4)) * 0.4}
		if r.IntN(2) == 0 {
			as[i].Instruction = fmt.Sprintf("Answer the question (style %d).", r.IntN(1000))
		}
	}
	spec := team.Spec{Agents: as, Aggregation: []string{team.AggMajority, team.AggWeighted}[r.IntN(2)]}
	switch r.IntN(3) {
	case 1:
		for i := 1; i < n; i++ {
			spec.Edges = append(spec.Edges, team.Edge{From: as[i-1].ID, To: as[i].ID})
		}
		spec.Rounds = 1 + r.IntN(2)
	case 2:
		spec.Edges, spec.Rounds = meshEdges(as), 1+r.IntN(2)
	}
	if n >= 3 && r.IntN(4) == 0 {
		as[n-1].Role, spec.Aggregation = team.RoleJudge, team.AggJudge
	}
	return spec
}

// TestTeamCalibration holds the team-level rows of the calibration table on
// medium arithmetic.
func TestTeamCalibration(t *testing.T) {
	exs := examples(t, "arithmetic", 300, 2)
	m := sim.New(nil)
	acc := func(spec team.Spec) float64 { return teamAccuracy(t, m, spec, exs) }
	check := func(name string, got, lo, hi float64) {
		t.Logf("%-40s %.3f", name, got)
		if got < lo || got > hi {
			t.Errorf("%s: accuracy %.3f outside [%.2f, %.2f]", name, got, lo, hi)
		}
	}

	medium := acc(team.Spec{Agents: agents("sim-medium")})
	check("1 sim-medium solver", medium, 0.54, 0.66)
	large5 := agents("sim-large", "sim-large", "sim-large", "sim-large", "sim-large")
	best := acc(team.Spec{Agents: withRoles(large5, "solver", "solver", "solver", "critic", "critic"), Edges: meshEdges(large5), Rounds: 1})
	check("5 sim-large, 2 critics, mesh, 1 round", best, 0.84, 0.95)

	m5 := agents("sim-medium", "sim-medium", "sim-medium", "sim-medium", "sim-medium")
	vote := acc(team.Spec{Agents: m5})
	check("5 sim-medium, majority", vote, medium+0.03, 0.8)
	debate := acc(team.Spec{Agents: m5, Edges: meshEdges(m5), Rounds: 2})
	check("5 sim-medium, mesh, 2 rounds", debate, vote+0.01, 0.85)
	withAdv := agents("sim-medium", "sim-medium", "sim-medium", "sim-medium", "sim-adversary")
	adv := acc(team.Spec{Agents: withAdv, Edges: meshEdges(withAdv), Rounds: 2})
	check("4 sim-medium + sim-adversary, mesh, 2 rounds", adv, 0, debate-0.05)

	r := rand.New(rand.NewPCG(1, 1))
	sum := 0.0
	const teams = 40
	for range teams {
		sum += teamAccuracy(t, m, randomSpec(r), exs[:100])
	}
	check(fmt.Sprintf("random team (mean of %d)", teams), sum/teams, 0.38, 0.55)
}

// BenchmarkTeamRun measures the whole evaluator path (team rendering the
// prompts, Generate, parsing and aggregation) on a 5-agent debate team,
// reporting simulated agent calls per second over all cores.
func BenchmarkTeamRun(b *testing.B) {
	exs := examples(b, "arithmetic", 256, 2)
	m := sim.New(nil)
	as := agents("sim-medium", "sim-medium", "sim-large", "sim-small", "sim-medium")
	tm, err := team.New(team.Spec{Agents: as, Edges: meshEdges(as), Rounds: 2}, m, &team.Options{NoTrace: true})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := tm.Run(context.Background(), exs[i%len(exs)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N*tm.CallsPerRun())/b.Elapsed().Seconds(), "calls/s")
}
