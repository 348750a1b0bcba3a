package experiments

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/mabeam/mabeam/datasets"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
	"github.com/mabeam/mabeam/team"
)

var (
	labelPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	agentIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)
)

// Bounds on the work one config can ask for, so that no trial runs for
// hours or exhausts memory: a dataset's split sizes together
// (datasets.MaxExamples), the agents of a team, the debate rounds and an
// agent's max_tokens. They are far above what the shipped configs use (a
// 30-agent team fits) and documented in the package doc.
const (
	maxExamples  = datasets.MaxExamples
	MaxAgents    = 64
	MaxRounds    = 10
	MaxMaxTokens = 32768
)

// rule is what the config allows for one variable beyond its own range.
type rule struct {
	kind     space.Kind // 0: any (an extra variable)
	min, max float64    // allowed numeric values
	known    []string   // allowed choices; nil means any
	what     string     // the name of a known value in messages, e.g. "model"
	text     bool       // a prompt text: no line may start with "#"
}

// textProblem says what is wrong with an instruction text, or "".
func textProblem(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "#") {
			return fmt.Sprintf("instruction line %q starts with #, which marks prompt sections; indent or reword it", line)
		}
	}
	return ""
}

func unbounded(k space.Kind) rule { return rule{kind: k, min: math.Inf(-1), max: math.Inf(1)} }

// agentRule is the rule of an agent's variable name under backend models.
func agentRule(name string, models []string) rule {
	r := unbounded(agentVarKinds[name])
	switch name {
	case space.LocalModel:
		r.known, r.what = models, "model"
	case space.LocalInstruction:
		r.text = true
	case space.LocalTemperature:
		r.min, r.max = 0, 2
	case space.LocalMaxTokens:
		r.min, r.max = 0, MaxMaxTokens
	case space.LocalDemos, space.LocalRules, "weight":
		r.min = 0
	}
	return r
}

// teamRule is the rule of a team variable name.
func teamRule(name string) rule {
	r := unbounded(teamVarKinds[name])
	switch name {
	case "topology":
		r.known, r.what = space.Topologies, "topology"
	case "aggregation":
		r.known, r.what = space.Aggregations, "aggregation"
	case "budget_allocation":
		r.known, r.what = space.Budgets, "budget allocation"
	case "rounds":
		r.min, r.max = 0, MaxRounds
	case "token_budget":
		r.min = 0
	case "bid_reserve":
		r.min, r.max = 0, 1
	}
	return r
}

// agentVarPath is the field path of an agent's variable.
func agentVarPath(agent int, name string) string {
	p := index("team.agents", agent)
	if _, ok := agentVarKinds[name]; ok {
		return join(p, name)
	}
	return join(p, "vars."+name)
}

// teamVarPath is the field path of a team variable.
func teamVarPath(name string) string {
	if _, ok := teamVarKinds[name]; ok {
		return join("team", name)
	}
	return join("team", "vars."+name)
}

// checker collects the semantic errors of a config.
type checker struct {
	c    *Config
	errs ErrorList
}

// add appends a *ConfigError or the errors of an ErrorList.
func (k *checker) add(err error) {
	var l ErrorList
	var ce *ConfigError
	switch {
	case err == nil:
	case errors.As(err, &l):
		k.errs = append(k.errs, l...)
	case errors.As(err, &ce):
		k.errs = append(k.errs, ce)
	default:
		k.errs = append(k.errs, &ConfigError{File: k.c.File, Msg: err.Error(), Err: err})
	}
}

func (k *checker) fail(path string, cause error, format string, args ...any) {
	k.errs = append(k.errs, k.c.errorf(path, cause, format, args...))
}

// Validate checks everything that can be checked before a study runs: names,
// ranges, known families, metrics, roles, models, topologies, optimizers and
// their settings, that dataset files exist, and that the team compiles into
// a space with a valid baseline. The error is a *ConfigError or an
// ErrorList, matching ErrInvalidConfig.
func (c *Config) Validate() error {
	k := &checker{c: c}
	k.top()
	k.datasets()
	k.team()
	k.optimizers()
	if len(k.errs) == 0 {
		ts, err := c.TeamSpace()
		if err == nil {
			_, err = c.baseline(ts)
		}
		k.add(err)
	}
	return k.errs.err()
}

func (k *checker) top() {
	c := k.c
	if !labelPattern.MatchString(c.Name) {
		k.fail("name", nil, "experiment name %q: use lower-case letters, digits, _ and -, starting with a letter or digit (e.g. quickstart)", c.Name)
	}
	if len(c.Seeds) == 0 {
		k.fail("seeds", nil, "no seeds: list at least one, e.g. seeds: [1, 2, 3]")
	}
	for i, s := range c.Seeds {
		if j := slices.Index(c.Seeds[:i], s); j >= 0 {
			k.fail(index("seeds", i), nil, "seed %d is listed twice (also seeds[%d])", s, j)
		}
	}
	k.lm()
	b := c.Budget
	switch {
	case b.Trials < 0:
		k.fail("budget.trials", nil, "trials %d is negative", b.Trials)
	case b.Calls < 0:
		k.fail("budget.calls", nil, "calls %d is negative", b.Calls)
	case !(b.Cost >= 0) || math.IsInf(b.Cost, 0):
		k.fail("budget.cost", nil, "cost %g is negative or not finite", b.Cost)
	case b.Trials == 0 && b.Calls == 0 && b.Cost == 0:
		k.fail("budget", nil, "no bound: set trials, calls or cost (USD), e.g. budget: {trials: 12}")
	}
	if c.Workers < 0 {
		k.fail("workers", nil, "workers %d is negative (0 means one per core)", c.Workers)
	}
}

// envPattern is what an environment variable's name looks like.
var envPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (k *checker) lm() {
	c := k.c
	l := &c.LM
	if !slices.Contains(Backends(), c.Backend()) {
		k.fail("lm.backend", nil, "unknown backend %q (known: %s)", l.Backend, strings.Join(Backends(), ", "))
		return
	}
	openaiOnly := map[string]bool{
		"base_url": l.BaseURL != "", "api_key_env": l.APIKeyEnv != "", "models": l.Models != nil, "prices": l.Prices != nil,
		"concurrency": l.Concurrency != 0, "requests_per_minute": l.RequestsPerMinute != 0, "tokens_per_minute": l.TokensPerMinute != 0,
		"timeout": l.Timeout != 0, "max_retries": l.MaxRetries != nil, "backoff": l.Backoff != 0,
	}
	if c.Backend() == "sim" {
		for _, key := range lmKeys {
			if openaiOnly[key] {
				k.fail("lm."+key, nil, "lm.%s is a setting of backend openai; this config's backend is sim", key)
			}
		}
		if _, err := c.simProfiles(); err != nil {
			k.add(err)
		}
		return
	}
	// openai
	if l.Profiles != "" {
		k.fail("lm.profiles", nil, "lm.profiles is a setting of backend sim (a surrogate's profiles file); this config's backend is openai")
	}
	if l.Delay != 0 {
		k.fail("lm.delay", nil, "lm.delay is a setting of backend sim (a simulated network time per call); this config's backend is openai")
	}
	if l.BaseURL == "" {
		k.fail("lm", nil, "backend openai needs lm.base_url, the server's API root, e.g. https://api.openai.com/v1 or http://localhost:11434/v1 (Ollama)")
	} else if u, err := url.Parse(l.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		k.fail("lm.base_url", nil, "base_url %q is not an http or https URL, e.g. http://localhost:8000/v1", l.BaseURL)
	}
	if l.APIKeyEnv != "" && !envPattern.MatchString(l.APIKeyEnv) {
		// Never echo the value: it may be the key itself.
		k.fail("lm.api_key_env", nil, "api_key_env names the environment variable that holds the key (letters, digits and _, e.g. OPENAI_API_KEY); it is not the key itself, which never goes in the file")
	}
	if len(l.Models) == 0 && len(l.Prices) == 0 {
		k.fail("lm", nil, "backend openai needs lm.models (the team's model names to the server's, e.g. {sim-medium: gpt-4o-mini}) and lm.prices (USD per million tokens of each server model, e.g. {gpt-4o-mini: {prompt: 0.15, completion: 0.6}}; 0 for a local server)")
	}
	for _, n := range slices.Sorted(maps.Keys(l.Models)) {
		srv := l.Models[n]
		if srv == "" {
			k.fail("lm.models."+n, nil, "model %q maps to an empty server model name", n)
			continue
		}
		if _, ok := l.Prices[srv]; !ok {
			k.fail("lm.models."+n, nil, "no price for server model %q (the team's %q): add lm.prices.%s: {prompt: USD, completion: USD} per million tokens (0 for a local server)", srv, n, srv)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(l.Prices)) {
		p := l.Prices[n]
		if !(p.Prompt >= 0) || !(p.Completion >= 0) || math.IsInf(p.Prompt, 0) || math.IsInf(p.Completion, 0) {
			k.fail("lm.prices."+n, nil, "prices of %q must be finite and not negative (prompt %g, completion %g USD per million tokens)", n, p.Prompt, p.Completion)
		}
	}
	switch {
	case l.Concurrency < 0:
		k.fail("lm.concurrency", nil, "concurrency %d is negative (0 means 16)", l.Concurrency)
	case l.RequestsPerMinute < 0 || math.IsNaN(l.RequestsPerMinute):
		k.fail("lm.requests_per_minute", nil, "requests_per_minute %g is negative (0 means no limit)", l.RequestsPerMinute)
	case l.TokensPerMinute < 0 || math.IsNaN(l.TokensPerMinute):
		k.fail("lm.tokens_per_minute", nil, "tokens_per_minute %g is negative (0 means no limit)", l.TokensPerMinute)
	case l.Timeout < 0:
		k.fail("lm.timeout", nil, "timeout %s is negative (0 means 60s)", l.Timeout)
	case l.MaxRetries != nil && *l.MaxRetries < 0:
		k.fail("lm.max_retries", nil, "max_retries %d is negative (0 means none; leave it out for 6)", *l.MaxRetries)
	}
}

func (k *checker) datasets() {
	c := k.c
	if len(c.Datasets) == 0 {
		k.fail("datasets", nil, "no datasets: list at least one, e.g. datasets: [{name: arith, family: arithmetic, val: 40}]")
	}
	for i := range c.Datasets {
		ds := &c.Datasets[i]
		p := index("datasets", i)
		if !labelPattern.MatchString(ds.Name) {
			k.fail(join(p, "name"), nil, "dataset name %q: use lower-case letters, digits, _ and -, starting with a letter or digit", ds.Name)
		}
		if j := slices.IndexFunc(c.Datasets[:i], func(o DatasetConfig) bool { return o.Name == ds.Name }); j >= 0 {
			k.fail(join(p, "name"), nil, "dataset name %q is used twice (also datasets[%d]); names label the studies", ds.Name, j)
		}
		switch {
		case ds.Family != "" && ds.File != "":
			k.fail(join(p, "file"), nil, "give either family or file, not both")
		case ds.Family == "" && ds.File == "":
			k.fail(p, nil, "give a built-in family (one of %s) or a file", strings.Join(datasets.Names(), ", "))
		case ds.Family != "":
			if !slices.Contains(datasets.Names(), ds.Family) {
				k.fail(join(p, "family"), nil, "unknown family %q (known: %s)", ds.Family, strings.Join(datasets.Names(), ", "))
			}
			if ds.Difficulty < 0 || ds.Difficulty > 3 {
				k.fail(join(p, "difficulty"), nil, "difficulty %d outside 0..3 (0 mixes 1, 2 and 3)", ds.Difficulty)
			}
			if ds.Format != "" {
				k.fail(join(p, "format"), nil, "format applies to files only; drop it or use file:")
			}
		default:
			if ds.Difficulty != 0 {
				k.fail(join(p, "difficulty"), nil, "difficulty applies to built-in families only; a file's examples keep their own")
			}
			if ds.Format != "" && !slices.Contains(datasets.Formats(), ds.Format) {
				k.fail(join(p, "format"), nil, "unknown format %q (known: %s)", ds.Format, strings.Join(datasets.Formats(), ", "))
			}
			path := c.DataPath(ds)
			if st, err := c.statFile(path); err != nil {
				k.fail(join(p, "file"), err, "file %s does not exist or cannot be read (paths are relative to the config's directory %s)", path, c.dir())
			} else if st.IsDir() {
				k.fail(join(p, "file"), nil, "%s is a directory, not a JSONL file", path)
			}
		}
		for _, s := range []struct {
			key string
			n   int
		}{{"train", ds.Train}, {"val", ds.Val}, {"test", ds.Test}} {
			if s.n < 0 {
				k.fail(join(p, s.key), nil, "%s size %d is negative", s.key, s.n)
			}
		}
		if ds.Val == 0 {
			k.fail(join(p, "val"), nil, "val is 0: the optimizers rank candidates on the validation split, so it needs at least 1 example (e.g. val: 40)")
		}
		if total := ds.Train + ds.Val + ds.Test; total > maxExamples {
			k.fail(p, nil, "train + val + test = %d examples; at most %d", total, maxExamples)
		}
		if ds.Metric != "" {
			if _, err := datasets.MetricByName(ds.Metric); err != nil {
				k.fail(join(p, "metric"), err, "unknown metric %q (known: exact, numeric, numeric:TOL, f1)", ds.Metric)
			}
		}
	}
}

func modelNames(comps []space.Component) []string {
	var out []string
	for _, m := range comps {
		out = append(out, m.Name)
	}
	return out
}

func (k *checker) team() {
	c := k.c
	t := &c.Team
	if len(t.Agents) == 0 {
		k.fail("team.agents", nil, "no agents: list at least one, e.g. agents: [{id: a1, role: solver}]")
	}
	if len(t.Agents) > MaxAgents {
		k.fail("team.agents", nil, "%d agents; at most %d", len(t.Agents), MaxAgents)
	}
	models := modelNames(c.ModelComponents())
	roles := team.RoleNames()
	var ids []string
	required, judges := 0, 0
	for i := range t.Agents {
		a := &t.Agents[i]
		p := index("team.agents", i)
		switch {
		case !agentIDPattern.MatchString(a.ID):
			k.fail(join(p, "id"), nil, "agent id %q: use letters, digits, _ and -, starting with a letter or digit", a.ID)
		case slices.Contains(ids, a.ID):
			k.fail(join(p, "id"), nil, "agent id %q is used twice (also team.agents[%d])", a.ID, slices.Index(ids, a.ID))
		}
		ids = append(ids, a.ID)
		if a.Role != "" && !slices.Contains(roles, a.Role) {
			k.fail(join(p, "role"), nil, "unknown role %q (known: %s)", a.Role, strings.Join(roles, ", "))
		}
		if a.Role == team.RoleJudge {
			judges++
		}
		if !a.Optional {
			required++
		}
		k.vars(a.Vars, func(name string) string { return agentVarPath(i, name) }, func(name string) rule { return agentRule(name, models) })
		if !slices.ContainsFunc(a.Vars, func(v Param) bool { return v.Name == space.LocalModel }) && !slices.Contains(models, team.DefaultModel) {
			k.fail(p, nil, "agent %q names no model, and the default %s is not a model of backend %s (known: %s): give it a model, or map %s in lm.models",
				a.ID, team.DefaultModel, c.Backend(), strings.Join(models, ", "), team.DefaultModel)
		}
	}
	k.vars(t.Vars, teamVarPath, teamRule)

	n := len(t.Agents)
	switch {
	case t.MinActive < 0 || t.MinActive > n:
		k.fail("team.min_active", nil, "min_active %d outside 0..%d (the number of agents)", t.MinActive, n)
	case t.MaxActive < 0:
		k.fail("team.max_active", nil, "max_active %d is negative (0 means no bound)", t.MaxActive)
	case t.MaxActive > 0 && t.MaxActive < t.MinActive:
		k.fail("team.max_active", nil, "max_active %d is below min_active %d", t.MaxActive, t.MinActive)
	case t.MaxActive > 0 && t.MaxActive < required:
		k.fail("team.max_active", nil, "max_active %d is below the %d agents that are not optional", t.MaxActive, required)
	}
	if t.Hub != "" && !slices.Contains(ids, t.Hub) {
		k.fail("team.hub", nil, "hub %q is not an agent (agents: %s)", t.Hub, strings.Join(ids, ", "))
	}
	if !(t.MaxModelCost >= 0) || math.IsInf(t.MaxModelCost, 0) {
		k.fail("team.max_model_cost", nil, "max_model_cost %g is negative or not finite", t.MaxModelCost)
	}
	for i, e := range t.Edges {
		p := index("team.edges", i)
		switch {
		case !slices.Contains(ids, e.From):
			k.fail(p, nil, "edge from %q: not an agent (agents: %s)", e.From, strings.Join(ids, ", "))
		case !slices.Contains(ids, e.To):
			k.fail(p, nil, "edge to %q: not an agent (agents: %s)", e.To, strings.Join(ids, ", "))
		case e.From == e.To:
			k.fail(p, nil, "edge from %q to itself", e.From)
		case int(e.Type) > int(space.Supervision):
			k.fail(p, nil, "unknown edge type %d", e.Type)
		default:
			if j := slices.Index(t.Edges[:i], e); j >= 0 {
				k.fail(p, nil, "edge %s is listed twice (also team.edges[%d])", e, j)
			}
		}
	}
	topos := []string{space.DefaultTopology}
	aggs := []string{space.DefaultAggregation}
	for _, v := range t.Vars {
		switch v.Name {
		case "topology":
			topos = v.values()
		case "aggregation":
			aggs = v.values()
		}
	}
	explicit := slices.Contains(topos, space.TopoExplicit)
	switch {
	case explicit && len(t.Edges) == 0:
		k.fail("team.topology", nil, "the explicit topology needs candidate edges: add team.edges, e.g. edges: [[a1, a2], [a2, a1]]")
	case !explicit && len(t.Edges) > 0:
		k.fail("team.edges", nil, "edges are used only by the explicit topology: add explicit to topology (e.g. topology: {choices: [mesh, explicit]}) or drop edges")
	case t.SearchEdges && !explicit:
		k.fail("team.search_edges", nil, "search_edges needs explicit among the topologies (e.g. topology: {choices: [mesh, explicit]})")
	}
	if slices.Contains(aggs, space.AggJudge) && judges == 0 {
		k.fail("team.aggregation", nil, "aggregation judge needs an agent with role: judge (without one the team would fall back to majority)")
	}
	k.demos()
}

// values returns the values a choice variable can take.
func (p *Param) values() []string {
	if s, ok := p.Fixed.(string); ok {
		return []string{s}
	}
	return p.Choices
}

// demos checks that every dataset's train split can fill the largest demos
// count, since the demo pool is the train split.
func (k *checker) demos() {
	for i, a := range k.c.Team.Agents {
		for _, v := range a.Vars {
			if v.Name != space.LocalDemos || v.Kind != space.KindInt {
				continue
			}
			p := agentVarPath(i, v.Name)
			need := int(v.High)
			if n, ok := v.Fixed.(int); ok {
				need = n
			} else if v.Fixed == nil {
				p = join(p, "high")
			}
			for _, ds := range k.c.Datasets {
				if ds.Train < need {
					k.fail(p, nil, "up to %d demos need %d train examples, but dataset %q has train: %d (demos come from the train split; raise train or lower demos)",
						need, need, ds.Name, ds.Train)
					break
				}
			}
		}
	}
}

// vars checks a list of variables.
func (k *checker) vars(vs []Param, pathOf func(string) string, ruleOf func(string) rule) {
	for i := range vs {
		v := &vs[i]
		p := pathOf(v.Name)
		if v.Name == "" {
			k.fail(p, nil, "variable without a name")
			continue
		}
		if slices.ContainsFunc(vs[:i], func(o Param) bool { return o.Name == v.Name }) {
			k.fail(p, nil, "variable %q is declared twice", v.Name)
			continue
		}
		r := ruleOf(v.Name)
		if r.kind == 0 {
			r.kind = v.Kind
			switch v.Kind {
			case space.KindFloat, space.KindInt, space.KindChoice, space.KindBool:
			default:
				k.fail(p, nil, "extra variable %q has kind %s; want int, float, choice or bool", v.Name, v.Kind)
				continue
			}
		}
		k.param(v, p, r)
	}
}

// param checks one variable against its own range and its rule.
func (k *checker) param(v *Param, p string, r rule) {
	before := len(k.errs)
	if v.Kind != r.kind {
		k.fail(p, nil, "%s is %s variable, not %s", v.Name, aKind(r.kind), kindName(v.Kind))
		return
	}
	if v.Fixed != nil {
		if msg := r.admits(v, v.Fixed); msg != "" {
			k.fail(p, nil, "%s", msg)
		}
		return
	}
	switch v.Kind {
	case space.KindFloat, space.KindInt:
		k.numeric(v, p, r)
	case space.KindChoice, space.KindComponent:
		k.choices(v, p, r)
	}
	if v.Default != nil && len(k.errs) == before {
		if _, msg := v.admits(v.Default); msg != "" {
			k.fail(join(p, "default"), nil, "default: %s", msg)
		}
	}
	if len(k.errs) == before { // a last check by the space package itself
		if _, err := space.New(v.spaceVar(nil)); err != nil {
			k.fail(p, err, "%v", err)
		}
	}
}

func (k *checker) numeric(v *Param, p string, r rule) {
	lo, hi, st := fmtNum(v.Low), fmtNum(v.High), fmtNum(v.Step)
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch {
	case !finite(v.Low):
		k.fail(join(p, "low"), nil, "low %s is not a finite number", lo)
	case !finite(v.High):
		k.fail(join(p, "high"), nil, "high %s is not a finite number", hi)
	case v.Low > v.High:
		k.fail(join(p, "high"), nil, "high %s is below low %s", hi, lo)
	case v.Low < r.min:
		k.fail(join(p, "low"), nil, "low %s is below %s, the smallest %s allowed", lo, fmtNum(r.min), v.Name)
	case v.High > r.max:
		k.fail(join(p, "high"), nil, "high %s is above %s, the largest %s allowed", hi, fmtNum(r.max), v.Name)
	case v.Kind == space.KindInt && (v.Low != math.Trunc(v.Low) || v.High != math.Trunc(v.High)):
		k.fail(p, nil, "int bounds [%s, %s] must be whole numbers", lo, hi)
	case v.Log && v.Low <= 0:
		k.fail(join(p, "log"), nil, "a log scale needs low > 0; have low %s", lo)
	case !finite(v.Step) || v.Step < 0:
		k.fail(join(p, "step"), nil, "step %s must be positive (or 0: continuous for floats, 1 for ints)", st)
	case v.Kind == space.KindInt && v.Step != math.Trunc(v.Step):
		k.fail(join(p, "step"), nil, "step %s of an int variable must be a whole number", st)
	case v.Step > 0:
		span := v.High - v.Low
		n := span / v.Step
		if math.Abs(n-math.Round(n)) > 1e-9*math.Max(1, n) {
			hint := ""
			if m := math.Max(1, math.Round(n)); span > 0 {
				if s := span / m; v.Kind == space.KindFloat || s == math.Trunc(s) {
					hint = fmt.Sprintf(" (e.g. step: %s)", fmtNum(s))
				}
			}
			k.fail(join(p, "step"), nil, "step %s does not divide high - low = %s%s", st, fmtNum(span), hint)
		}
	}
}

func (k *checker) choices(v *Param, p string, r rule) {
	cp := join(p, "choices")
	if len(v.Choices) == 0 {
		k.fail(cp, nil, "no choices: list at least one")
		return
	}
	for i, s := range v.Choices {
		switch {
		case slices.Contains(v.Choices[:i], s):
			k.fail(index(cp, i), nil, "choice %q is listed twice", s)
		case r.known != nil && !slices.Contains(r.known, s):
			k.fail(index(cp, i), nil, "unknown %s %q (known: %s)", r.what, s, strings.Join(r.known, ", "))
		case s == "":
			k.fail(index(cp, i), nil, "empty choice")
		case r.text && textProblem(s) != "":
			k.fail(index(cp, i), nil, "%s", textProblem(s))
		}
	}
	if v.Weights == nil {
		return
	}
	wp := join(p, "weights")
	if len(v.Weights) != len(v.Choices) {
		k.fail(wp, nil, "%d weights for %d choices; give one weight per choice", len(v.Weights), len(v.Choices))
		return
	}
	sum := 0.0
	for i, w := range v.Weights {
		if !(w >= 0) || math.IsInf(w, 0) {
			k.fail(index(wp, i), nil, "weight %s is negative or not finite", fmtNum(w))
			return
		}
		sum += w
	}
	if sum == 0 {
		k.fail(wp, nil, "all weights are 0; at least one must be positive")
	}
}

// admits checks a fixed value against the rule.
func (r rule) admits(v *Param, x any) string {
	x, msg := normalizeValue(v.Kind, x)
	if msg != "" {
		return msg
	}
	switch y := x.(type) {
	case float64:
		if y < r.min || y > r.max {
			return fmt.Sprintf("%s %s is outside [%s, %s]", v.Name, fmtNum(y), fmtNum(r.min), fmtNum(r.max))
		}
	case int:
		if float64(y) < r.min || float64(y) > r.max {
			return fmt.Sprintf("%s %d is outside [%s, %s]", v.Name, y, fmtNum(r.min), fmtNum(r.max))
		}
	case string:
		if r.known != nil && !slices.Contains(r.known, y) {
			return fmt.Sprintf("unknown %s %q (known: %s)", r.what, y, strings.Join(r.known, ", "))
		}
		if y == "" {
			return v.Name + " is empty"
		}
		if r.text {
			return textProblem(y)
		}
	}
	return ""
}

// admits checks that x is a value of the searched variable v and returns
// it normalized to v's value type.
func (v *Param) admits(x any) (any, string) {
	x, msg := normalizeValue(v.Kind, x)
	if msg != "" {
		return nil, msg
	}
	if v.Fixed != nil {
		if f, _ := normalizeValue(v.Kind, v.Fixed); f != x {
			return nil, fmt.Sprintf("%s is fixed to %v", v.Name, v.Fixed)
		}
		return x, ""
	}
	switch y := x.(type) {
	case float64, int:
		f := toFloat(y)
		if f < v.Low || f > v.High {
			return nil, fmt.Sprintf("%s is outside [%s, %s]", fmtNum(f), fmtNum(v.Low), fmtNum(v.High))
		}
		st := v.Step
		if st == 0 && v.Kind == space.KindInt {
			st = 1
		}
		if st > 0 {
			n := (f - v.Low) / st
			if math.Abs(n-math.Round(n)) > 1e-9*math.Max(1, math.Abs(n)) {
				return nil, fmt.Sprintf("%s is off the grid %s, %s, ..., %s", fmtNum(f), fmtNum(v.Low), fmtNum(v.Low+st), fmtNum(v.High))
			}
		}
	case string:
		if !slices.Contains(v.Choices, y) {
			return nil, fmt.Sprintf("%q is not among the choices (%s)", y, strings.Join(v.Choices, ", "))
		}
	}
	return x, ""
}

// normalizeValue converts x to the value type of kind: float64, int,
// string or bool.
func normalizeValue(kind space.Kind, x any) (any, string) {
	switch kind {
	case space.KindFloat:
		switch y := x.(type) {
		case float64:
			return y, ""
		case int:
			return float64(y), ""
		}
		return nil, fmt.Sprintf("want a number; have %s", fmtAny(x))
	case space.KindInt:
		switch y := x.(type) {
		case int:
			return y, ""
		case float64:
			if y == math.Trunc(y) && math.Abs(y) < 1<<53 {
				return int(y), ""
			}
		}
		return nil, fmt.Sprintf("want a whole number; have %s", fmtAny(x))
	case space.KindChoice, space.KindComponent:
		if s, ok := x.(string); ok {
			return s, ""
		}
		return nil, fmt.Sprintf("want a string; have %s", fmtAny(x))
	case space.KindBool:
		if b, ok := x.(bool); ok {
			return b, ""
		}
		return nil, fmt.Sprintf("want true or false; have %s", fmtAny(x))
	}
	return nil, fmt.Sprintf("unsupported kind %s", kind)
}

func toFloat(x any) float64 {
	switch y := x.(type) {
	case float64:
		return y
	case int:
		return float64(y)
	}
	return math.NaN()
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func fmtAny(x any) string {
	switch y := x.(type) {
	case string:
		return strconv.Quote(y)
	case float64:
		return fmtNum(y)
	case nil:
		return "nothing"
	}
	return fmt.Sprint(x)
}

func (k *checker) optimizers() {
	c := k.c
	if len(c.Optimizers) == 0 {
		k.fail("optimizers", nil, "no optimizers: list at least one, e.g. optimizers: [{name: random}]")
	}
	known := optimizer.Names()
	for i := range c.Optimizers {
		o := &c.Optimizers[i]
		p := index("optimizers", i)
		if !slices.Contains(known, o.Name) {
			k.fail(join(p, "name"), nil, "unknown optimizer %q (known: %s)", o.Name, strings.Join(known, ", "))
			continue
		}
		if o.Label != "" && !labelPattern.MatchString(o.Label) {
			k.fail(join(p, "label"), nil, "label %q: use lower-case letters, digits, _ and -, starting with a letter or digit", o.Label)
		}
		if j := slices.IndexFunc(c.Optimizers[:i], func(x OptimizerConfig) bool { return x.label() == o.label() }); j >= 0 {
			k.fail(p, nil, "optimizer %q appears twice (also optimizers[%d]); give one a label, e.g. label: %s-2", o.label(), j, o.label())
		}
		if _, err := optimizer.New(o.Name, cloneSettings(o.Settings)); err != nil {
			k.fail(join(p, "settings"), err, "%v", err)
		}
	}
}

// cloneSettings deep-copies settings, so an optimizer cannot change the
// config's.
func cloneSettings(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneAny(v)
	}
	return out
}

func cloneAny(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneSettings(x)
	case []any:
		out := make([]any, len(x))
		for i, y := range x {
			out[i] = cloneAny(y)
		}
		return out
	}
	return v
}
