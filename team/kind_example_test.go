package team_test

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/lm/sim"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
	"github.com/mabeam/mabeam/team"
)

// voter is an agent kind that answers with the plurality of N samples of
// the team's model (self-consistency inside one agent), its confidence
// the plurality's share of the samples.
type voter struct {
	N int // samples per call
}

var _ team.Kind = voter{}

// Registered at init, as database/sql drivers are; an AgentSpec with
// Kind "voter" is then built by New below.
func init() { team.RegisterKind("voter", voter{N: 5}) }

// New is called once per agent by team.New, never during a run: check the
// spec and render what is fixed (the system message) here.
func (k voter) New(s team.AgentSpec, model lm.Model) (team.Agent, error) {
	if model == nil || s.Model == "" {
		return nil, errors.New("kind voter needs the team's model and a model name")
	}
	role := s.Role
	if role == "" {
		role = team.RoleSolver
	}
	instr := s.Instruction
	if instr == "" {
		r, err := team.LookupRole(role)
		if err != nil {
			return nil, err
		}
		instr = r.DefaultInstruction
	}
	p := prompt.Prompt{Agent: s.ID, Role: role, Instruction: instr, Rules: s.Rules, Demos: s.Demos}
	return &voterAgent{n: k.N, model: model, spec: s, prompt: p, system: prompt.RenderSystem(&p)}, nil
}

// voterAgent holds nothing that changes during a run, so Act is safe for
// concurrent use: one team runs many examples at once.
type voterAgent struct {
	n      int
	model  lm.Model
	spec   team.AgentSpec
	prompt prompt.Prompt // the fixed part, system rendered from it
	system string
}

// Act is one call of the agent: round 0 with the question only, the
// debate rounds with its previous answer and its peers' (never the gold
// answer).
func (a *voterAgent) Act(ctx context.Context, in team.Input) (team.Output, error) {
	system := a.system
	if slices.ContainsFunc(a.prompt.Demos, func(d prompt.Demo) bool { return d.Question == in.Question }) {
		// Never show an agent a demo of the question it is asked (SIMBA's
		// rollouts run on the train split its demos come from).
		p := a.prompt
		p.Demos = slices.DeleteFunc(slices.Clone(p.Demos), func(d prompt.Demo) bool { return d.Question == in.Question })
		system = prompt.RenderSystem(&p)
	}
	user := prompt.RenderUser(&prompt.Prompt{Question: in.Question, Previous: in.Previous, Peers: in.Peers})
	msgs := []lm.Message{{Role: lm.RoleSystem, Content: system}, {Role: lm.RoleUser, Content: user}}
	req := lm.Request{
		Model: a.spec.Model, Messages: msgs, MaxTokens: a.spec.MaxTokens,
		Temperature: max(a.spec.Temperature, 0.7), // samples of a greedy agent would all agree
		Sample:      in.Sample * a.n,              // in.Sample's own samples, apart from other rollouts'
	}
	resps, err := lm.GenerateSamples(ctx, a.model, req, a.n)
	if err != nil {
		return team.Output{Messages: msgs}, err
	}
	out := team.Output{Messages: msgs, Cached: true}
	votes, top := map[string]int{}, 0
	for _, r := range resps {
		// What every sample used counts: the evaluation sums it into the
		// tokens and the cost that budgets bound.
		out.Usage = out.Usage.Add(r.Usage)
		out.Cost += r.Cost
		out.Latency += r.Latency
		out.Retries += r.Retries
		out.Cached = out.Cached && r.Cached
		ans, _, _ := prompt.ReadAnswer(r.Text)
		key := datasets.Normalize(ans)
		if key == "" {
			continue // abstains
		}
		if votes[key]++; votes[key] > top { // ties go to the earlier sample
			out.Answer, out.Text, top = ans, r.Text, votes[key]
		}
	}
	out.Confidence = float64(top) / float64(a.n)
	return out, nil
}

// Register an agent kind, evaluate a three-agent team of it against the
// same team of the built-in lm agents on the surrogate model, and let
// random search choose the models of a team of it.
func ExampleRegisterKind() {
	data, err := datasets.Builtin("arithmetic", datasets.Sizes{Val: 40}, 1, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	model := sim.New(&sim.Options{Seed: 1})
	for _, kind := range []string{team.KindLM, "voter"} {
		t, err := team.New(team.Spec{Agents: []team.AgentSpec{
			{ID: "a1", Kind: kind, Model: "sim-medium", Temperature: 0.7},
			{ID: "a2", Kind: kind, Model: "sim-medium", Temperature: 0.7},
			{ID: "a3", Kind: kind, Model: "sim-medium", Temperature: 0.7},
		}}, model, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		r, err := evaluation.Evaluate(context.Background(), t, data.Val, datasets.ExactMatch, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		// Calls counts the agents' Act calls; the tokens and the cost are
		// every sample's.
		fmt.Printf("kind %-5s team %.3f (a1 alone %.3f); %d calls, %d tokens, $%.4f\n",
			kind, r.Mean, r.Agents[0].FinalScore, r.Calls, r.Usage.Total(), r.Cost)
	}

	// An optimizer searches teams of the kind through the evaluator's
	// materials: here random search over the agents' models.
	models := []space.Component{{Name: "sim-small"}, {Name: "sim-medium"}}
	var agents []space.Agent
	for _, id := range []string{"a1", "a2", "a3"} {
		agents = append(agents, space.Agent{ID: id, Vars: []space.Var{space.ComponentChoice(space.LocalModel, models...)}})
	}
	ts, err := space.Team{Agents: agents}.Compile()
	if err != nil {
		fmt.Println(err)
		return
	}
	p := &optimizer.Problem{
		Space: ts.Space(), Val: data.Val, Seed: 1,
		Evaluator: &optimizer.TeamEvaluator{Space: ts, Model: model,
			Materials: &team.Materials{Defaults: team.AgentSpec{Kind: "voter", Temperature: 0.7}}},
	}
	res, err := (&optimizer.Search{}).Optimize(context.Background(), p, optimizer.Budget{Trials: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("best of %d teams of voters: %.3f with %s\n", len(res.Trials), res.Best.Value, res.Best.Params.Key())
	// Output:
	// kind lm    team 0.800 (a1 alone 0.725); 120 calls, 19482 tokens, $0.0186
	// kind voter team 0.900 (a1 alone 0.800); 120 calls, 97410 tokens, $0.0931
	// best of 4 teams of voters: 0.900 with {"agent/a1/model":"sim-medium","agent/a2/model":"sim-medium","agent/a3/model":"sim-medium","team/aggregation":"majority","team/budget":"equal","team/rounds":1,"team/topology":"mesh"}
}
