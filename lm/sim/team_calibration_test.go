package sim_test

import (
	"context"
	"fmt"
	"math"
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

// teamCalibration is the team table of the package documentation, on
// medium arithmetic.
var teamCalibration = []struct {
	name string
	spec func() team.Spec
	acc  float64
}{
	{"1 sim-medium solver, T=0", func() team.Spec { return team.Spec{Agents: same(1, "sim-medium", "", 0)} }, 0.61},
	{"5 sim-medium, T=0, majority", func() team.Spec { return team.Spec{Agents: same(5, "sim-medium", "", 0)} }, 0.61},
	{"5 sim-medium, T=0.7, majority", func() team.Spec { return team.Spec{Agents: same(5, "sim-medium", "", 0.7)} }, 0.70},
	{"5 sim-medium, T=0.7, mesh, 2 rounds", func() team.Spec {
		as := same(5, "sim-medium", "", 0.7)
		return team.Spec{Agents: as, Edges: meshEdges(as), Rounds: 2}
	}, 0.75},
	{"4 sim-medium + sim-adversary, T=0.7, mesh, 2 rounds", func() team.Spec {
		as := same(5, "sim-medium", "", 0.7)
		as[4].Model = "sim-adversary"
		return team.Spec{Agents: as, Edges: meshEdges(as), Rounds: 2}
	}, 0.69},
	{"4 sim-medium, T=0.7, sim-large judge", func() team.Spec {
		as := append(same(4, "sim-medium", "", 0.7), team.AgentSpec{ID: "judge", Role: team.RoleJudge, Model: "sim-large", Temperature: 0.7})
		return team.Spec{Agents: as, Aggregation: team.AggJudge}
	}, 0.76},
	{"5 sim-large (3 solvers, 2 critics), T=0.7, mesh, 1 round", func() team.Spec {
		as := withRoles(same(5, "sim-large", "", 0.7), "solver", "solver", "solver", "critic", "critic")
		return team.Spec{Agents: as, Edges: meshEdges(as), Rounds: 1}
	}, 0.92},
}

// TestTeamCalibration holds the team rows of the calibration table, each
// within teamTolerance (about 3.5 standard errors on 2,000 questions).
func TestTeamCalibration(t *testing.T) {
	const teamTolerance = 0.04
	exs := figureExamples(t, "arithmetic", 2000, 2)
	m := figureModel()
	for _, row := range teamCalibration {
		got := meanOf(must(runTeam(t, m, row.spec(), exs, 0, false)))
		t.Logf("%-55s %.3f", row.name, got)
		if math.Abs(got-row.acc) > teamTolerance {
			t.Errorf("%s: accuracy %.3f, table says %.2f", row.name, got, row.acc)
		}
	}
	r := rand.New(rand.NewPCG(figureDataSeed, 1))
	sum := 0.0
	const teams = 60
	for range teams {
		sum += teamAccuracy(t, m, randomSpec(r), exs[:200])
	}
	t.Logf("%-55s %.3f", fmt.Sprintf("random team (mean of %d)", teams), sum/teams)
	if got := sum / teams; math.Abs(got-0.56) > 0.06 {
		t.Errorf("random team: mean accuracy %.3f, table says 0.56", got)
	}
}

func must(x []float64, _ []team.Result) []float64 { return x }

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
