package experiments

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/openai"
	"github.com/mabeam/mabeam/lm/sim"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
)

// Config is a parsed and validated experiment config (see the package
// documentation for the YAML format). Get one from Parse or Load; a Config
// changed or built in Go should be checked with Validate, which Studies
// also calls.
type Config struct {
	// Name names the experiment and prefixes its study names.
	Name string
	// Description is free text; it does not affect any study.
	Description string
	// Seeds are the study seeds: one study per (dataset, optimizer, seed).
	Seeds []uint64
	// LM is the language-model backend.
	LM LMConfig
	// Datasets are the benchmarks, each scored separately.
	Datasets []DatasetConfig
	// Team is the team template: its searched and fixed variables.
	Team TeamConfig
	// Baseline overrides the baseline team's values by key ("topology",
	// "a2.model", "a2.active"); nil means none (see the package docs).
	Baseline map[string]any
	// Optimizers are compared on every dataset and seed.
	Optimizers []OptimizerConfig
	// Budget bounds each study.
	Budget optimizer.Budget
	// Workers bounds the examples evaluated at once; 0 means one per core
	// under sim and lm.concurrency under openai (EvalWorkers).
	Workers int

	// File is the name given to Parse or the path given to Load, for error
	// messages; dataset files are relative to its directory.
	File string
	// lines maps field paths to the YAML line they were read from.
	lines map[string]int
	// source is the YAML the config was parsed from (for Bundle).
	source []byte
	// files, when not nil, are the only files the config reads, by
	// resolved path (a config parsed from a Bundle); nil reads the disk.
	files map[string][]byte
}

// LMConfig selects the language-model backend: "sim", the surrogate
// model (the default), or "openai", any server that speaks the OpenAI chat
// completions API (OpenAI itself, vLLM, Ollama, llama.cpp's server, LM
// Studio).
type LMConfig struct {
	// Backend is "sim" or "openai" (Backends).
	Backend string
	// Seed is the surrogate model's seed: another seed is another equally
	// plausible simulated world (sim only).
	Seed uint64
	// Profiles is a surrogate profiles file (sim.LoadProfiles, as
	// `experiment calibrate` writes), relative to the config's directory:
	// its profiles are added to the built-in ones, replacing those of the
	// same name (sim only).
	Profiles string
	// Delay makes every call of the surrogate model sleep this long, a
	// stand-in for a real model's latency when measuring parallel or
	// distributed runs; it changes no result, so not the config's hash
	// either (sim only).
	Delay time.Duration
	// Cache asks the runner to keep the model's responses in the store, so
	// a repeated call is free and a finished study replays offline; nil
	// means the backend's default: on for openai, off for sim (fast and
	// deterministic anyway).
	Cache *bool
	// RecordCalls keeps every agent call of every trial in the store's
	// calls table (what `experiment calibrate` fits a surrogate to); nil
	// means on for openai, off for sim.
	RecordCalls *bool

	// BaseURL is the server's API root, e.g. "https://api.openai.com/v1"
	// or "http://localhost:11434/v1" (openai only; required).
	BaseURL string
	// APIKeyEnv names the environment variable that holds the API key;
	// "" means OPENAI_API_KEY. The key is read from the environment only,
	// never from the file, and is never stored or logged; an unset
	// variable sends no key (local servers need none).
	APIKeyEnv string
	// Models maps the model names the team uses (e.g. "sim-medium") to the
	// server's model names; a name in Prices may also be used directly.
	Models map[string]string
	// Prices are USD per million prompt and completion tokens by server
	// model name; every model the team can use needs one (0 for a local
	// server), so that cost budgets and comparisons mean something.
	Prices map[string]lm.Price
	// Concurrency bounds the requests in flight, shared by every study of
	// a run (0: 16); RequestsPerMinute and TokensPerMinute are token
	// buckets over them (0: no limit). Timeout bounds one attempt (0: 60s)
	// and MaxRetries the retries of a rate-limited, failed or timed-out
	// request (nil: 6; 0: none). None of them changes what a study finds,
	// so a resumed study may change them.
	Concurrency                        int
	RequestsPerMinute, TokensPerMinute float64
	Timeout                            time.Duration
	MaxRetries                         *int
	// Backoff is the wait before the first retry, doubled (with jitter)
	// for each next one up to 30 s; 0 means 500 ms.
	Backoff time.Duration
}

// DefaultAPIKeyEnv is the environment variable the openai backend reads
// the API key from when lm.api_key_env is not given.
const DefaultAPIKeyEnv = "OPENAI_API_KEY"

// Backend returns the language-model backend, "sim" by default.
func (c *Config) Backend() string {
	if c.LM.Backend == "" {
		return "sim"
	}
	return c.LM.Backend
}

// LMSeed returns the surrogate model's seed.
func (c *Config) LMSeed() uint64 { return c.LM.Seed }

// LMCache reports whether the model's responses should be cached in the
// store: lm.cache, else on for openai and off for sim.
func (c *Config) LMCache() bool {
	if c.LM.Cache != nil {
		return *c.LM.Cache
	}
	return c.Backend() == "openai"
}

// RecordCalls reports whether every agent call of the trials is kept in
// the store: lm.record_calls, else on for openai and off for sim.
func (c *Config) RecordCalls() bool {
	if c.LM.RecordCalls != nil {
		return *c.LM.RecordCalls
	}
	return c.Backend() == "openai"
}

// APIKeyEnv is the environment variable the API key is read from.
func (c *Config) APIKeyEnv() string {
	if c.LM.APIKeyEnv == "" {
		return DefaultAPIKeyEnv
	}
	return c.LM.APIKeyEnv
}

// EvalWorkers is the examples evaluated at once: workers, else one per
// core under sim, and under openai as many as the requests in flight
// (lm.concurrency), since the calls wait on the network.
func (c *Config) EvalWorkers() int {
	switch {
	case c.Workers > 0:
		return c.Workers
	case c.Backend() == "openai" && c.LM.Concurrency > 0:
		return c.LM.Concurrency
	case c.Backend() == "openai":
		return openai.DefaultConcurrency
	}
	return 0
}

// ServerModel is the server's name for the team's model name (lm.models;
// the name itself when not mapped).
func (c *Config) ServerModel(name string) string {
	if s, ok := c.LM.Models[name]; ok {
		return s
	}
	return name
}

// DatasetConfig is one benchmark: a built-in family or a JSONL file.
type DatasetConfig struct {
	// Name labels the dataset in study names.
	Name string
	// Family is a built-in family (datasets.Names); exclusive with File.
	Family string
	// Difficulty is the built-in family's level, 1..3; 0 mixes them.
	Difficulty int
	// File is a JSONL file, relative to the config's directory; Format is
	// one of datasets.Formats ("" means auto). Under the sim backend every
	// question of the file must be one datasets.Solve parses (Studies
	// checks).
	File, Format string
	// Train, Val and Test are the split sizes. Val must be positive.
	Train, Val, Test int
	// Metric is a datasets.MetricByName name; "" means "exact".
	Metric string
	// Seed, if not nil, fixes the data seed of every study; nil draws the
	// data with each study's own seed.
	Seed *uint64
}

// TeamConfig is the team template.
type TeamConfig struct {
	// Agents are the team members, in the order they are called.
	Agents []AgentConfig
	// Vars are the team variables: topology, rounds, aggregation,
	// budget_allocation, token_budget, bid_reserve (in this order, those
	// given), then the extra team variables. Undeclared ones keep their
	// defaults (mesh, 1 round, majority, equal; no token budget, reserve 0).
	Vars []Param
	// Edges are the candidate edges of the explicit topology.
	Edges []space.Edge
	// SearchEdges searches each candidate edge on or off.
	SearchEdges bool
	// MinActive and MaxActive bound the number of active agents; 0 means
	// no bound.
	MinActive, MaxActive int
	// Hub is the star topology's hub; "" means the first active agent.
	Hub string
	// MaxModelCost, if positive, caps the summed price of the active agents'
	// models (USD per million tokens, see ModelComponents).
	MaxModelCost float64
}

// AgentConfig is one agent of the team template.
type AgentConfig struct {
	// ID names the agent, uniquely within the team.
	ID string
	// Role is a registered role (team.RoleNames); "" means solver.
	Role string
	// Optional agents are searched on and off (team/active/<id>).
	Optional bool
	// Vars are the agent's local variables: model, temperature, max_tokens,
	// instruction, demos, rules, weight (in this order, those given), then
	// the extra variables. An agent without a model uses sim-medium.
	Vars []Param
}

// Param is one variable as the config writes it: fixed (a YAML scalar) or
// searched (a YAML mapping).
type Param struct {
	// Name is the YAML key, e.g. "temperature" or "budget_allocation".
	Name string
	// Kind is space.KindFloat, KindInt, KindChoice, KindComponent (a model)
	// or KindBool.
	Kind space.Kind
	// Fixed, if not nil, fixes the variable: a float64, int, string or bool
	// by Kind. The fields below are then unused.
	Fixed any
	// Low, High, Step and Log describe a numeric range (space.Var).
	Low, High, Step float64
	Log             bool
	// Choices and Weights describe a choice (or model) variable.
	Choices []string
	Weights []float64
	// Default is the baseline's value: nil means the first choice, the low
	// bound, or false.
	Default any
}

// OptimizerConfig is one optimizer to compare.
type OptimizerConfig struct {
	// Name is a registered optimizer (optimizer.Names).
	Name string
	// Label names it in study names; "" means Name. Labels are unique, so
	// one optimizer can run with two settings.
	Label string
	// Settings are passed to optimizer.New; nil means its defaults.
	Settings map[string]any
}

// label returns the optimizer's label with the default applied.
func (o *OptimizerConfig) label() string {
	if o.Label == "" {
		return o.Name
	}
	return o.Label
}

// Load reads and validates the config file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{File: path, Msg: "cannot read the config: " + err.Error(), Err: err}
	}
	return Parse(data, path)
}

// Parse reads and validates a YAML config. file names it in errors and
// anchors relative dataset paths (its directory; "" means the current
// directory). The error is a *ConfigError, or an ErrorList when there are
// several problems; all match ErrInvalidConfig.
func Parse(data []byte, file string) (*Config, error) { return parse(data, file, nil) }

// parse is Parse reading files from files instead of the disk when it is
// not nil (ParseBundle).
func parse(data []byte, file string, files map[string][]byte) (*Config, error) {
	c, err := decode(data, file)
	if err != nil {
		return nil, err
	}
	c.source, c.files = data, files
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Backends lists the language-model backends a config can name.
func Backends() []string { return []string{"sim", "openai"} }

// NewModel returns the model of the config's backend: for "sim", a
// surrogate model with the config's seed and profiles; for "openai", a
// client of the server, with the API key read from the environment
// variable APIKeyEnv names. One model serves every study of a run, so its
// concurrency and rate limits are shared. Studies uses it when given no
// model.
func (c *Config) NewModel() (lm.Model, error) { return c.NewLimitedModel(nil) }

// NewLimitedModel is NewModel with an openai backend's requests and tokens
// per minute enforced by limit (a distributed run's shared limit,
// SharedLimiter) instead of the client's own buckets; nil is NewModel.
func (c *Config) NewLimitedModel(limit openai.Limiter) (lm.Model, error) {
	switch c.Backend() {
	case "sim":
		ps, err := c.simProfiles()
		if err != nil {
			return nil, err
		}
		return sim.New(&sim.Options{Seed: c.LM.Seed, Profiles: ps, Delay: c.LM.Delay}), nil
	case "openai":
		retries := 0 // the client's default
		if r := c.LM.MaxRetries; r != nil {
			retries = *r
			if retries == 0 {
				retries = -1 // none
			}
		}
		m, err := openai.New(&openai.Options{
			BaseURL: c.LM.BaseURL, APIKey: os.Getenv(c.APIKeyEnv()), Models: c.LM.Models, Prices: c.LM.Prices,
			Concurrency: c.LM.Concurrency, RequestsPerMinute: c.LM.RequestsPerMinute, TokensPerMinute: c.LM.TokensPerMinute,
			Timeout: c.LM.Timeout, MaxRetries: retries, MinBackoff: c.LM.Backoff, Limiter: limit,
		})
		if err != nil {
			return nil, c.errorf("lm", err, "%v", err)
		}
		return m, nil
	}
	return nil, c.errorf("lm.backend", nil, "unknown backend %q (known: %v)", c.LM.Backend, Backends())
}

// simProfiles reads lm.profiles; nil without one.
func (c *Config) simProfiles() ([]sim.Profile, error) {
	if c.LM.Profiles == "" {
		return nil, nil
	}
	path := c.ProfilesPath()
	data, err := c.readFile(path)
	var ps []sim.Profile
	if err == nil {
		ps, err = sim.ReadProfiles(bytes.NewReader(data), path)
	}
	if err != nil {
		return nil, c.errorf("lm.profiles", err, "%v", err)
	}
	return ps, nil
}

// ProfilesPath is lm.profiles resolved against the config's directory; ""
// without one.
func (c *Config) ProfilesPath() string {
	if c.LM.Profiles == "" || filepath.IsAbs(c.LM.Profiles) {
		return c.LM.Profiles
	}
	return filepath.Join(c.dir(), c.LM.Profiles)
}

// ModelComponents returns the models the config's team can name, as space
// components, sorted by name: their cost is the blended price in USD per
// million tokens, three prompt tokens to one completion token. Under sim
// they are the surrogate's profiles (the built-in ones and lm.profiles');
// under openai the names of lm.models and lm.prices, priced by the server
// model each stands for. A profiles file that cannot be read gives the
// built-in profiles only (Validate reports the file).
func (c *Config) ModelComponents() []space.Component {
	blend := func(p lm.Price) float64 { return math.Round((3*p.Prompt+p.Completion)/4*1e6) / 1e6 }
	switch c.Backend() {
	case "sim":
		ps, _ := c.simProfiles()
		m := sim.New(&sim.Options{Profiles: ps})
		var out []space.Component
		for _, p := range m.Profiles() {
			out = append(out, space.Component{Name: p.Name, Cost: blend(lm.Price{Prompt: p.PromptPrice, Completion: p.CompletionPrice})})
		}
		return out
	case "openai":
		names := map[string]bool{}
		for n := range c.LM.Models {
			names[n] = true
		}
		for n := range c.LM.Prices {
			names[n] = true
		}
		var out []space.Component
		for _, n := range slices.Sorted(maps.Keys(names)) {
			out = append(out, space.Component{Name: n, Cost: blend(c.LM.Prices[c.ServerModel(n)])})
		}
		return out
	}
	return nil
}

// dir is the directory dataset files are relative to.
func (c *Config) dir() string {
	if c.File == "" {
		return "."
	}
	return filepath.Dir(c.File)
}

// DataPath returns the path of dataset d's file, resolved against the
// config's directory; "" for a built-in family.
func (c *Config) DataPath(d *DatasetConfig) string {
	if d.File == "" {
		return ""
	}
	if filepath.IsAbs(d.File) {
		return d.File
	}
	return filepath.Join(c.dir(), d.File)
}

// line returns the YAML line of field path, or of its nearest ancestor that
// has one; 0 if none.
func (c *Config) line(path string) int {
	for path != "" {
		if n, ok := c.lines[path]; ok {
			return n
		}
		path = parentPath(path)
	}
	return 0
}

// parentPath strips the last segment of a field path: "a.b[2]" → "a.b",
// "a.b" → "a".
func parentPath(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		switch p[i] {
		case '.':
			return p[:i]
		case '[':
			return p[:i]
		}
	}
	return ""
}

// errorf makes a *ConfigError at field path.
func (c *Config) errorf(path string, cause error, format string, args ...any) *ConfigError {
	return &ConfigError{File: c.File, Line: c.line(path), Field: path, Msg: fmt.Sprintf(format, args...), Err: cause}
}

// Rename gives the experiment a new name (`run --new-experiment NAME`):
// its studies are then new ones, beside those of the old name.
func (c *Config) Rename(name string) error {
	if !labelPattern.MatchString(name) {
		return fmt.Errorf("experiment name %q: use lower-case letters, digits, '_' and '-', starting with a letter or digit", name)
	}
	c.Name = name
	return nil
}
