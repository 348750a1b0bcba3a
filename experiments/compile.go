package experiments

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/evaluation"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/prompt"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
	"github.com/mabeam/mabeam/team"

	_ "github.com/mabeam/mabeam/beacon" // registers the beacon sampler and optimizer
	_ "github.com/mabeam/mabeam/edges"  // registers gptswarm and agentprune
	_ "github.com/mabeam/mabeam/simba"  // registers the simba optimizer
)

// Study is one (dataset, optimizer, seed) cell of an experiment, ready to
// run: Opt.Optimize(ctx, Problem, Budget), then optimizer.Conclude.
type Study struct {
	// Name is "<experiment>/<dataset>/<optimizer label>/seed<seed>", e.g.
	// "quickstart/arith/random/seed1"; unique within the experiment.
	Name string
	// Experiment, Dataset and Optimizer are the config's names (the
	// optimizer's label); Seed the study seed.
	Experiment, Dataset, Optimizer string
	Seed                           uint64
	Budget                         optimizer.Budget
	// Opt is a fresh optimizer built from the config's settings.
	Opt optimizer.Optimizer
	// Problem holds the space, the evaluator (Evaluator below), the splits,
	// the direction (maximize), the seed and the baseline assignment.
	Problem *optimizer.Problem
	// Evaluator is Problem.Evaluator, concretely.
	Evaluator *optimizer.TeamEvaluator
	// TeamSpace is the compiled team template; Problem.Space is its flat
	// space.
	TeamSpace *space.TeamSpace
	// SpaceJSON describes the flat space in space.ParseJSON's format (a
	// variable with several conditions keeps its first; constraints are
	// not included).
	SpaceJSON []byte
	// ConfigJSON is the canonical JSON of what determines this study's results:
	// the experiment name, lm, this dataset (with the SHA-256 of a data
	// file), this optimizer, the team, the baseline, the budget and the
	// seed. ConfigHash is its hex SHA-256, so --resume can tell whether a
	// stored study ran from the same config; the description, workers and
	// the other datasets, optimizers and seeds do not change it.
	ConfigJSON []byte
	ConfigHash string
	// config, dataset and optimizer are where the study came from, for its
	// matched single agent (SingleAgent).
	config             *Config
	dataset, optimizer int
}

// Studies compiles the config into its studies, one per (dataset,
// optimizer, seed) in that nesting order: datasets outermost, seeds
// innermost. model serves every study; pass the store's cached wrapper of
// NewModel's model, or nil to use NewModel's directly. Data files are read
// here: a bad line or too few examples is a *ConfigError at the dataset,
// and so, under the sim backend, is a question the surrogate model cannot
// parse (ErrSimCannotParse; see the package docs).
func (c *Config) Studies(model lm.Model) ([]*Study, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if model == nil {
		m, err := c.NewModel()
		if err != nil {
			return nil, err
		}
		model = m
	}
	type dataKey struct {
		dataset int
		seed    uint64
	}
	splits := map[dataKey]datasets.Splits{}
	files := map[int]loadedFile{}
	var out []*Study
	for di := range c.Datasets {
		ds := &c.Datasets[di]
		metric, err := datasets.MetricByName(ds.Metric)
		if ds.Metric == "" {
			metric, err = datasets.ExactMatch, nil
		}
		if err != nil {
			return nil, c.errorf(index("datasets", di)+".metric", err, "%v", err)
		}
		if ds.File != "" {
			f, err := c.loadFile(di)
			if err != nil {
				return nil, err
			}
			files[di] = f
		}
		for oi := range c.Optimizers {
			oc := &c.Optimizers[oi]
			for _, seed := range c.Seeds {
				dataSeed := seed
				if ds.Seed != nil {
					dataSeed = *ds.Seed
				}
				key := dataKey{di, dataSeed}
				sp, ok := splits[key]
				if !ok {
					if sp, err = c.split(di, files[di].examples, dataSeed); err != nil {
						return nil, err
					}
					splits[key] = sp
				}
				st, err := c.study(di, oi, seed, sp, model, metric, files[di].sha)
				if err != nil {
					return nil, err
				}
				st.Name = strings.Join([]string{c.Name, ds.Name, oc.label(), "seed" + strconv.FormatUint(seed, 10)}, "/")
				out = append(out, st)
			}
		}
	}
	return out, nil
}

// loadedFile is a dataset file's distinct examples and the SHA-256 of its
// bytes.
type loadedFile struct {
	examples []datasets.Example
	sha      string
}

func (c *Config) loadFile(di int) (loadedFile, error) {
	ds := &c.Datasets[di]
	p := index("datasets", di) + ".file"
	path := c.DataPath(ds)
	data, err := c.readFile(path)
	if err != nil {
		return loadedFile{}, c.errorf(p, err, "cannot read %s: %v", path, err)
	}
	exs, err := datasets.Read(strings.NewReader(string(data)), path, ds.Format)
	if err != nil {
		return loadedFile{}, c.errorf(p, err, "%v", err)
	}
	if c.Backend() == "sim" {
		if err := c.simCanParse(p, path, exs); err != nil {
			return loadedFile{}, err
		}
	}
	sum := sha256.Sum256(data)
	return loadedFile{examples: datasets.Dedupe(exs), sha: hex.EncodeToString(sum[:])}, nil
}

// simCanParse checks that the surrogate model can answer every question of
// a file: it answers only questions datasets.Solve parses, and "unknown"
// to any other, so such a file would score 0 without an error. exs are the
// file's examples as read, so example i is line i+1 (datasets.Read).
func (c *Config) simCanParse(field, path string, exs []datasets.Example) error {
	first, bad := -1, 0
	for i := range exs {
		if _, ok := datasets.Solve(exs[i].Question); !ok {
			if first < 0 {
				first = i
			}
			bad++
		}
	}
	if bad == 0 {
		return nil
	}
	return c.errorf(field, ErrSimCannotParse,
		"%s:%d: the sim backend cannot parse this question (%d of the file's %d questions are affected): "+
			"it answers only questions laid out as the built-in families write them, and \"unknown\" to any other, "+
			"so this dataset would score 0; use a real model backend (lm.backend) for this file, "+
			"or a built-in family (family: one of %s) or a file exported from one (experiment datasets export)",
		path, first+1, bad, len(exs), strings.Join(datasets.Names(), ", "))
}

// split returns dataset di's splits under a data seed.
func (c *Config) split(di int, file []datasets.Example, seed uint64) (datasets.Splits, error) {
	ds := &c.Datasets[di]
	p := index("datasets", di)
	sizes := datasets.Sizes{Train: ds.Train, Val: ds.Val, Test: ds.Test}
	if ds.File == "" {
		sp, err := datasets.Builtin(ds.Family, sizes, seed, ds.Difficulty)
		if err != nil {
			return sp, c.errorf(p, err, "%v", err)
		}
		return sp, nil
	}
	if sizes.Total() > len(file) {
		return datasets.Splits{}, c.errorf(p, datasets.ErrSplitSize,
			"train + val + test = %d examples, but %s has %d distinct questions; lower the sizes", sizes.Total(), ds.File, len(file))
	}
	sp, err := datasets.Split(file, sizes, seed)
	if err != nil {
		return sp, c.errorf(p, err, "%v", err)
	}
	return sp, nil
}

// study builds one study; the caller names it.
func (c *Config) study(di, oi int, seed uint64, sp datasets.Splits, model lm.Model, metric datasets.Metric, sha string) (*Study, error) {
	ds, oc := &c.Datasets[di], &c.Optimizers[oi]
	ts, err := c.TeamSpace()
	if err != nil {
		return nil, err
	}
	base, err := c.baseline(ts)
	if err != nil {
		return nil, err
	}
	opt, err := optimizer.New(oc.Name, cloneSettings(oc.Settings))
	if err != nil {
		return nil, c.errorf(index("optimizers", oi)+".settings", err, "%v", err)
	}
	train, val, test := slices.Clone(sp.Train), slices.Clone(sp.Val), slices.Clone(sp.Test)
	ev := &optimizer.TeamEvaluator{
		Space: ts, Model: model, Metric: metric, Materials: c.Materials(train),
		Eval: &evaluation.Options{Workers: c.EvalWorkers(), RecordCalls: c.RecordCalls()}, DemoExamples: map[string]string{},
	}
	for _, ex := range train {
		ev.DemoExamples[ex.Question] = ex.ID
	}
	js, err := SpaceJSON(ts.Space())
	if err != nil {
		return nil, err
	}
	prob := &optimizer.Problem{
		Space: ts.Space(), Evaluator: ev, Train: train, Val: val, Test: test,
		Direction: optimizer.Maximize, Seed: seed, Baseline: base, Model: model,
	}
	if ck, ok := opt.(optimizer.Checker); ok {
		if err := ck.Check(prob); err != nil {
			return nil, c.errorf(index("optimizers", oi), err, "%v (dataset %s)", err, ds.Name)
		}
	}
	cfg := c.studyJSON(di, oi, seed, sha)
	sum := sha256.Sum256(cfg)
	return &Study{
		Experiment: c.Name, Dataset: ds.Name, Optimizer: oc.label(), Seed: seed,
		Budget: c.Budget, Opt: opt, Problem: prob,
		Evaluator: ev, TeamSpace: ts, SpaceJSON: js,
		ConfigJSON: cfg, ConfigHash: hex.EncodeToString(sum[:]),
		config: c, dataset: di, optimizer: oi,
	}, nil
}

// Materials returns what the team's variables select from, for a train
// split: the instruction texts of every agent (choices and fixed texts)
// as candidates of its role, and a demo pool of the first N train
// examples (question and gold answer), N the largest demos count of any
// agent. The rules pool is empty: optimizers such as SIMBA grow it.
func (c *Config) Materials(train []datasets.Example) *team.Materials {
	m := &team.Materials{Instructions: map[string][]string{}}
	need := 0
	for _, a := range c.Team.Agents {
		role := a.Role
		if role == "" {
			role = team.RoleSolver
		}
		for _, v := range a.Vars {
			switch v.Name {
			case space.LocalInstruction:
				for _, s := range v.values() {
					if !slices.Contains(m.Instructions[role], s) {
						m.Instructions[role] = append(m.Instructions[role], s)
					}
				}
			case space.LocalDemos:
				if n, ok := v.Fixed.(int); ok {
					need = max(need, n)
				} else if v.Fixed == nil {
					need = max(need, int(v.High))
				}
			}
		}
	}
	for _, ex := range train[:min(need, len(train))] {
		m.Demos = append(m.Demos, prompt.Demo{Question: ex.Question, Answer: ex.Answer})
	}
	return m
}

// spaceName is the space package's name of a team variable.
func spaceName(name string) string {
	if name == "budget_allocation" {
		return space.TeamBudget
	}
	return name
}

// spaceVar converts a Param; comps are the backend's models.
func (v *Param) spaceVar(comps []space.Component) space.Var {
	comp := func(name string) space.Component {
		for _, c := range comps {
			if c.Name == name {
				return c
			}
		}
		return space.Component{Name: name}
	}
	if v.Fixed != nil {
		x, _ := normalizeValue(v.Kind, v.Fixed)
		if x == nil {
			x = v.Fixed
		}
		if v.Kind == space.KindComponent {
			s, _ := x.(string)
			return space.ComponentChoice(v.Name, comp(s)).Fix(s)
		}
		return space.Const(v.Name, x)
	}
	var out space.Var
	switch v.Kind {
	case space.KindFloat, space.KindInt:
		out = space.Var{Name: v.Name, Kind: v.Kind, Low: v.Low, High: v.High, Step: v.Step, Log: v.Log}
	case space.KindChoice:
		out = space.Choice(v.Name, v.Choices...)
	case space.KindComponent:
		cs := make([]space.Component, len(v.Choices))
		for i, name := range v.Choices {
			cs[i] = comp(name)
		}
		out = space.ComponentChoice(v.Name, cs...)
	case space.KindBool:
		out = space.Bool(v.Name)
	default:
		out = space.Var{Name: v.Name, Kind: v.Kind}
	}
	if v.Weights != nil {
		out.Weights = slices.Clone(v.Weights)
	}
	return out
}

// spaceTeam builds the space.Team and maps each flat variable name to its
// field path.
func (c *Config) spaceTeam() (space.Team, map[string]string) {
	t := &c.Team
	comps := c.ModelComponents()
	st := space.Team{MinActive: t.MinActive, MaxActive: t.MaxActive, Hub: t.Hub, Edges: slices.Clone(t.Edges), SearchEdges: t.SearchEdges}
	paths := map[string]string{}
	var models []string
	for i, a := range t.Agents {
		role := a.Role
		if role == "" {
			role = team.RoleSolver
		}
		ag := space.Agent{ID: a.ID, Role: role, Optional: a.Optional}
		if !slices.ContainsFunc(a.Vars, func(v Param) bool { return v.Name == space.LocalModel }) {
			def := Param{Name: space.LocalModel, Kind: space.KindComponent, Fixed: team.DefaultModel}
			ag.Vars = append(ag.Vars, def.spaceVar(comps))
			paths[space.AgentVar(a.ID, space.LocalModel)] = index("team.agents", i)
		}
		for _, v := range a.Vars {
			ag.Vars = append(ag.Vars, v.spaceVar(comps))
			paths[space.AgentVar(a.ID, v.Name)] = agentVarPath(i, v.Name)
		}
		models = append(models, space.AgentVar(a.ID, space.LocalModel))
		if a.Optional {
			paths[space.ActiveVar(a.ID)] = index("team.agents", i) + ".optional"
		}
		st.Agents = append(st.Agents, ag)
	}
	for _, v := range t.Vars {
		sv := v.spaceVar(comps)
		sv.Name = spaceName(v.Name)
		st.Vars = append(st.Vars, sv)
		paths[space.TeamVar(sv.Name)] = teamVarPath(v.Name)
	}
	for i, e := range t.Edges {
		paths[space.EdgeVar(e)] = index("team.edges", i)
	}
	if t.MaxModelCost > 0 {
		con := space.CostAtMost(t.MaxModelCost, models...)
		con.Name = "max_model_cost"
		con.Message = fmt.Sprintf("the active agents' models must cost at most %s USD per million tokens together", fmtNum(t.MaxModelCost))
		st.Constraints = append(st.Constraints, con)
	}
	return st, paths
}

// TeamSpace compiles the team template into its flat space (see the space
// package for the naming scheme). An error is a *ConfigError at the agent
// or variable the space package rejected.
func (c *Config) TeamSpace() (*space.TeamSpace, error) {
	st, paths := c.spaceTeam()
	ts, err := st.Compile()
	if err == nil {
		return ts, nil
	}
	path := "team"
	var ve *space.VarError
	switch {
	case errors.As(err, &ve):
		if p, ok := paths[ve.Var]; ok {
			path = p
		}
	case errors.Is(err, space.ErrBounds):
		path = "team.max_active"
	case errors.Is(err, space.ErrGraph):
		path = "team.edges"
	}
	return nil, c.errorf(path, err, "%v", err)
}

// baselineTarget is what a baseline key names.
type baselineTarget struct {
	agent  int    // index of the agent; -1 for a team variable
	active bool   // the agent's active switch
	param  *Param // the variable, nil for active
}

// baselineKeys lists the keys the baseline accepts: every searched
// variable and every optional agent's active switch.
func (c *Config) baselineKeys() []string {
	var out []string
	for _, v := range c.Team.Vars {
		if v.Fixed == nil {
			out = append(out, v.Name)
		}
	}
	for _, a := range c.Team.Agents {
		if a.Optional {
			out = append(out, a.ID+".active")
		}
		for _, v := range a.Vars {
			if v.Fixed == nil {
				out = append(out, a.ID+"."+v.Name)
			}
		}
	}
	return out
}

// target resolves a baseline key.
func (c *Config) target(key string) (baselineTarget, string) {
	id, local, agentKey := strings.Cut(key, ".")
	if !agentKey {
		for i := range c.Team.Vars {
			if c.Team.Vars[i].Name == key {
				return baselineTarget{agent: -1, param: &c.Team.Vars[i]}, ""
			}
		}
		if _, ok := teamVarKinds[key]; ok {
			return baselineTarget{}, fmt.Sprintf("%s is not in the team, so it keeps its default; declare it under team to search it", key)
		}
		return baselineTarget{}, ""
	}
	for i := range c.Team.Agents {
		a := &c.Team.Agents[i]
		if a.ID != id {
			continue
		}
		if local == "active" {
			if !a.Optional {
				return baselineTarget{}, fmt.Sprintf("agent %s is not optional, so it is always active", id)
			}
			return baselineTarget{agent: i, active: true}, ""
		}
		for j := range a.Vars {
			if a.Vars[j].Name == local {
				return baselineTarget{agent: i, param: &a.Vars[j]}, ""
			}
		}
	}
	return baselineTarget{}, ""
}

// baseline builds the baseline assignment: every searched variable at its
// default (else its first choice, low bound or false), optional agents
// active in team order while max_active allows, then the config's
// Baseline overrides.
func (c *Config) baseline(ts *space.TeamSpace) (space.Assignment, error) {
	t := &c.Team
	over := map[string]any{}
	actives := map[int]bool{}
	keys := make([]string, 0, len(c.Baseline))
	for k := range c.Baseline {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var errs ErrorList
	for _, key := range keys {
		p := "baseline." + key
		tg, why := c.target(key)
		switch {
		case why != "":
			errs = append(errs, c.errorf(p, nil, "%s", why))
			continue
		case tg.active:
			b, ok := c.Baseline[key].(bool)
			if !ok {
				errs = append(errs, c.errorf(p, nil, "want true or false; have %s", fmtAny(c.Baseline[key])))
				continue
			}
			actives[tg.agent] = b
			continue
		case tg.param == nil:
			errs = append(errs, c.errorf(p, nil, "unknown baseline key %q (valid: %s)", key, strings.Join(c.baselineKeys(), ", ")))
			continue
		case tg.param.Fixed != nil:
			errs = append(errs, c.errorf(p, nil, "%s is fixed to %s; the baseline sets searched variables only (valid keys: %s)",
				key, fmtAny(tg.param.Fixed), strings.Join(c.baselineKeys(), ", ")))
			continue
		}
		x, msg := tg.param.admits(c.Baseline[key])
		if msg != "" {
			errs = append(errs, c.errorf(p, nil, "%s", msg))
			continue
		}
		over[key] = x
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	value := func(key string, v *Param) any {
		if x, ok := over[key]; ok {
			return x
		}
		return v.baseValue()
	}

	ta := space.TeamAssignment{
		Topology: space.DefaultTopology, Rounds: space.DefaultRounds,
		Aggregation: space.DefaultAggregation, Budget: space.DefaultBudget,
	}
	for i := range t.Vars {
		v := &t.Vars[i]
		x := value(v.Name, v)
		switch v.Name {
		case "topology":
			ta.Topology, _ = x.(string)
		case "rounds":
			ta.Rounds, _ = x.(int)
		case "aggregation":
			ta.Aggregation, _ = x.(string)
		case "budget_allocation":
			ta.Budget, _ = x.(string)
		default:
			if ta.Extra == nil {
				ta.Extra = map[string]any{}
			}
			ta.Extra[v.Name] = x
		}
	}
	count := 0
	for i, a := range t.Agents {
		if !a.Optional || actives[i] {
			count++
		}
	}
	var ids []string
	for i, a := range t.Agents {
		on, set := actives[i]
		switch {
		case !a.Optional:
			on = true
		case !set:
			on = t.MaxActive == 0 || count < t.MaxActive
			if on {
				count++
			}
		}
		aa := space.AgentAssignment{ID: a.ID, Role: a.Role, Active: on}
		if on {
			ids = append(ids, a.ID)
			aa.Values = space.Assignment{}
			for j := range a.Vars {
				v := &a.Vars[j]
				aa.Values[v.Name] = value(a.ID+"."+v.Name, v)
			}
		}
		ta.Agents = append(ta.Agents, aa)
	}
	edges, err := space.TopologyEdges(ta.Topology, ids, t.Hub, t.Edges)
	if err != nil {
		return nil, c.errorf("team.topology", err, "%v", err)
	}
	ta.Edges = edges
	a, err := ts.Flatten(ta)
	if err != nil {
		path := "team"
		if len(c.Baseline) > 0 {
			path = "baseline"
		}
		var ce *space.ConstraintError
		if errors.As(err, &ce) {
			switch ce.Name {
			case "team-size-min":
				path = "team.min_active"
			case "team-size-max":
				path = "team.max_active"
			case "max_model_cost":
				path = "team.max_model_cost"
			}
		}
		return nil, c.errorf(path, err, "the baseline team is not valid (%v); relax the bound or set the baseline: section", err)
	}
	return a, nil
}

// baseValue is the baseline value of a variable without an override.
func (v *Param) baseValue() any {
	x := v.Fixed
	if x == nil {
		x = v.Default
	}
	if x != nil {
		y, _ := normalizeValue(v.Kind, x)
		return y
	}
	switch v.Kind {
	case space.KindFloat:
		return v.Low
	case space.KindInt:
		return int(v.Low)
	case space.KindChoice, space.KindComponent:
		if len(v.Choices) > 0 {
			return v.Choices[0]
		}
	case space.KindBool:
		return false
	}
	return nil
}

// SpaceJSON describes s in space.ParseJSON's format: an object from
// variable name to spec, names sorted. A variable with several conditions
// keeps only its first; constraints are not written.
func SpaceJSON(s *space.Space) ([]byte, error) {
	specs := make(map[string]space.VarSpec, s.Len())
	for _, v := range s.Vars() {
		sp := space.VarSpec{Type: v.Kind.String(), Log: v.Log, Step: v.Step, Choices: v.Choices,
			Components: v.Components, Weights: v.Weights, Fixed: v.Fixed}
		if v.Kind == space.KindFloat || v.Kind == space.KindInt {
			lo, hi := v.Low, v.High
			sp.Low, sp.High = &lo, &hi
		}
		if len(v.Conds) > 0 {
			sp.Parent, sp.In = v.Conds[0].Parent, v.Conds[0].In
		}
		specs[v.Name] = sp
	}
	b, err := json.Marshal(specs)
	if err != nil {
		return nil, fmt.Errorf("experiments: space JSON: %w", err)
	}
	return b, nil
}
