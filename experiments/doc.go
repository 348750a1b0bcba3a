// Package experiments reads YAML experiment configs — name, seeds, lm,
// datasets, team, baseline, optimizers, budget and workers, every key
// documented below with its type, default and an example — validates them
// with errors that name file:line and field, and compiles each into its
// studies, one per (dataset, optimizer, seed), that the Runner stores.
// Load (or Parse) reads a config, Config.Studies compiles it, and
// Runner.Run runs the studies into a store; `experiment run CONFIG` does
// all three.
//
// # The format
//
// A config is one YAML mapping. Keys not listed here are errors (the
// message lists the valid ones). Anchors, aliases and merge keys (<<: *x)
// may be used to share parts.
//
//	name: quickstart           # required string [a-z0-9_-]+; prefixes study names
//	description: free text     # optional string; changes no study
//	seeds: [1, 2, 3]           # required list of distinct integers >= 0; one study per
//	                           #   (dataset, optimizer, seed), named
//	                           #   <name>/<dataset>/<optimizer label>/seed<seed>
//	lm:                        # optional mapping; the language-model backend
//	  backend: sim             #   string, default sim (the surrogate model), or openai (a server)
//	  seed: 0                  #   sim: integer >= 0, default 0: the surrogate model's world
//	  profiles: fitted.yaml    #   sim: optional profiles file (experiment calibrate writes one),
//	                           #     relative to this file: added to the built-in profiles
//	  delay: 20ms              #   sim: optional sleep per call, a stand-in for a real model's
//	                           #     network time in benchmarks of parallel or distributed runs;
//	                           #     it changes no result (nor the config's hash)
//	  cache: false             #   bool: keep responses in the store (a repeat is free, a study
//	                           #     replays offline); default false for sim, true for openai
//	  record_calls: false      #   bool: keep every agent call in the store's calls table (what
//	                           #     experiment calibrate fits to); default false for sim, true for openai
//	  base_url: http://localhost:8000/v1  # openai: required, the server's API root
//	  api_key_env: OPENAI_API_KEY         # openai: the environment variable holding the key
//	                           #     (default OPENAI_API_KEY; unset: no key). Never the key itself:
//	                           #     a key is never read from the file, stored or logged
//	  models: {sim-medium: gpt-4o-mini}   # openai: the team's model names to the server's
//	  prices:                  #   openai: USD per million tokens of each server model; required
//	    gpt-4o-mini: {prompt: 0.15, completion: 0.6}  # for every model the team can use (0: local)
//	  concurrency: 16          #   openai: requests in flight, shared by every study of the run
//	  requests_per_minute: 0   #   openai: token buckets over the requests (0: no limit)
//	  tokens_per_minute: 0
//	  timeout: 60s             #   openai: one attempt's time limit
//	  max_retries: 6           #   openai: retries of a 429, 5xx, timeout or unreadable reply
//	                           #     (backoff with jitter, honouring Retry-After); 0: none
//	  backoff: 500ms           #   openai: the wait before the first retry, doubled up to 30s
//	datasets:                  # required non-empty list; each is scored separately
//	  - name: arith            #   required string [a-z0-9_-]+, unique
//	    family: arithmetic     #   a built-in family (arithmetic, logic, multihop) ...
//	    difficulty: 2          #   ... and its level 1..3; default 0 mixes them
//	    # file: data/gsm8k.jsonl  ... or a JSONL file, relative to the config's directory,
//	    # format: auto            ... read as auto (default), jsonl, gsm8k or hotpotqa;
//	    #   with backend sim, every question must be one the built-in families' solvers
//	    #   parse (a file from `experiment datasets export`), see Validation
//	    train: 20              #   integer >= 0, default 0: the demo pool and the optimizers' own data
//	    val: 40                #   required integer >= 1: candidates are ranked on it
//	    test: 100              #   integer >= 0, default 0: the best team and the baseline, scored once
//	    metric: exact          #   exact (default), numeric, numeric:TOL or f1
//	    seed: 7                #   optional integer >= 0: fixes the data for every study;
//	                           #     by default each study draws its data with its own seed
//	team:                      # required mapping: the team template (see Variables)
//	  agents:                  #   required non-empty list, called in this order
//	    - id: a1               #     required string [A-Za-z0-9_-]+, unique
//	      role: solver         #     solver (default), critic, judge, planner (team.RoleNames)
//	      optional: false      #     bool, default false: true searches the agent on and off
//	      model: sim-medium    #     choice of sim-adversary, sim-large, sim-medium, sim-small;
//	                           #       default sim-medium (fixed)
//	      temperature: {low: 0, high: 1, step: 0.25}  # float in [0, 2]; default 0
//	      max_tokens: 512      #     int >= 0; default 0, the backend's default
//	      instruction: {choices: ["Solve ...", "Think ..."]}  # text; default the role's
//	      demos: {low: 0, high: 4}   # int >= 0: shows the first k train examples; default 0
//	      rules: 0             #     int >= 0: shows the first k rules (the pool starts empty)
//	      weight: 1.0          #     float >= 0: vote weight under weighted aggregation
//	      vars: {}             #     extra local variables (see Variables); no default
//	  topology: {choices: [chain, star, ring, tree, mesh]}  # or explicit; default mesh
//	  rounds: {low: 0, high: 2}        # int >= 0: message-passing rounds; default 1
//	  aggregation: majority            # majority, supermajority, weighted, hierarchical, judge;
//	                                   #   default majority
//	  budget_allocation: equal         # equal, auction, market: how debate turns are allotted
//	                                   #   (team package docs); default equal (every agent speaks)
//	  token_budget: 0                  # int >= 0: tokens of one example's debate rounds, split
//	                                   #   round by round by budget_allocation; default 0 (no cap)
//	  bid_reserve: 0                   # float in [0, 1]: the disagreement a turn must exceed to be
//	                                   #   bid for under auction and market; default 0
//	  edges: [[a1, a2], [a2, a1, feedback]]  # candidate edges of the explicit topology:
//	                           #   [from, to], [from, to, type] or {from, to, type}; type is
//	                           #   data (default), feedback, command or supervision
//	  search_edges: false      #   bool, default false: search each candidate edge on/off
//	  min_active: 1            #   int, default 0 (no bound): fewest active agents
//	  max_active: 5            #   int, default 0 (no bound): most active agents
//	  hub: a1                  #   the star's hub; default the first active agent
//	  max_model_cost: 10       #   float, default 0 (none): cap on the summed model price
//	                           #     of the active agents, USD per million tokens
//	                           #     (ModelComponents: 3 prompt tokens to 1 completion)
//	  vars: {}                 #   extra team variables (see Variables)
//	baseline:                  # optional mapping: overrides of the baseline team's values
//	  a2.model: sim-small      #   <agent id>.<variable>
//	  a2.active: false         #   <agent id>.active, for an optional agent
//	  topology: mesh           #   <team variable>
//	optimizers:                # required non-empty list
//	  - name: random           #   required: a registered optimizer (optimizer.Names)
//	    label: random-a        #   string [a-z0-9_-]+, default the name; unique, names the studies
//	    settings: {}           #   mapping passed to optimizer.New, default none;
//	                           #     unknown settings are errors
//	  - random                 #   a bare name is short for {name: random}
//	budget:                    # required mapping; each study stops at the first bound reached
//	  trials: 12               #   int >= 0: finished trials
//	  calls: 5000              #   int >= 0: language-model calls
//	  cost: 2.5                #   float >= 0: US dollars; at least one of the three is > 0
//	workers: 0                 # int >= 0, default 0: examples evaluated at once (one per core
//	                           #   under sim, lm.concurrency under openai)
//
// # Variables
//
// Each variable of an agent or of the team is fixed by a scalar and
// searched by a mapping:
//
//	temperature: 0.7                              # fixed
//	model: {choices: [sim-small, sim-large], weights: [3, 1], default: sim-small}
//	temperature: {low: 0, high: 1.5, step: 0.5, default: 0.5}
//	max_tokens: {low: 64, high: 1024, log: true}
//
// {choices, weights, default} makes a choice: choices is a non-empty list
// of distinct strings, weights (optional, one per choice, >= 0, not all 0)
// bias random sampling, default is one of the choices. {low, high, step,
// log, default} makes a number in [low, high]: step (optional) must divide
// high - low, log needs low > 0, default must lie on the grid. Whether a
// number is an int or a float follows from its name (model, instruction,
// topology, aggregation, budget_allocation: choice; temperature, weight,
// bid_reserve: float; max_tokens, demos, rules, rounds, token_budget: int). Extra variables, under
// vars, take the kind of their scalar (int, float, bool or string for a
// choice) or a type key: int, float, choice or bool; {type: bool} is a
// searched switch. A numeric range whose bounds are all whole numbers needs
// type: int or type: float. Extra agent variables are searched and stored
// like the others (for analysis), but no agent reads them: team.AgentSpec
// has no field for them, and team.FromAssignment passes on only the extra
// team variables it knows (below).
//
// Team.Compile's flat names (space package docs) are agent/<id>/<name> and
// team/<name>, with budget_allocation as team/budget; token_budget and
// bid_reserve are extra team variables that team.FromAssignment reads.
//
// # Baseline
//
// Each study also scores an unoptimized baseline team once on test. Every
// searched variable takes its default if given, else its first choice, its
// low bound, or false; optional agents are active, in team order, while
// max_active allows. The baseline mapping overrides any of these; a key
// that names no searched variable, or a value outside its variable, is an
// error listing the valid keys.
//
// # Limits
//
// So that no trial runs for hours or exhausts memory, a config may ask for
// at most MaxAgents (64) agents, MaxRounds (10) debate rounds, an agent
// max_tokens of MaxMaxTokens (32,768) and 1,000,000 examples in one
// dataset's splits together (datasets.MaxExamples); a searched range must
// stay within them too. The study's budget is also enforced inside a
// trial: a trial that would pass the call or cost bound is cut to a prefix
// of its batch, stored as stopped, and ends the study.
//
// # Test size and power
//
// The shipped configs score 300 test questions a seed over 3 seeds. Two
// teams compared on the same questions differ on a share d of them: on the
// surrogate, 0.05-0.14 between teams of medium arithmetic within 7 points
// of each other, 0.22-0.29 against a team 16-23 points better (the team
// calibration rows of lm/sim). The per-question part of the standard error
// of a difference between two optimizers' mean test scores is √(d/900):
// 1.25 points at d = 0.14, 1.8 at d = 0.29, so a 5-point difference is
// detected (two-sided, α = 0.05) with power 0.98 at d = 0.14 and 0.79 at
// d = 0.29. Differences between the teams each seed's search finds add
// variance on top, which more seeds reduce.
//
// # Validation
//
// Parse and Load check everything that can be checked before a study runs:
// YAML syntax, unknown keys, wrong types, impossible ranges, unknown
// families, formats, metrics, roles, models, topologies, aggregations,
// backends and optimizers (and their settings), duplicate names and ids,
// edges naming unknown agents, missing data files, demos that the train
// split cannot fill, the baseline, and the space the team compiles to. Each
// problem is a *ConfigError, located by file, line and field path, e.g.
//
//	quickstart.yaml:27: team.agents[1].temperature.high: high 3 is above 2, the largest temperature allowed
//
// Several problems come as an ErrorList, sorted by line. Studies reads the
// data files, so a bad JSONL line or a file too small for the splits is
// reported there, still before anything runs. So is a file that the sim
// backend cannot answer: the surrogate model answers only questions that
// datasets.Solve parses (those of the built-in families, as `experiment
// datasets export` writes them) and "unknown" to any other, so a real
// GSM8K or HotpotQA file would score 0. With lm.backend sim, Studies
// refuses a file with any such question, naming the file and line of the
// first and how many there are, e.g.
//
//	exp.yaml:9: datasets[0].file: data/gsm8k.jsonl:1: the sim backend cannot parse this question (50 of the file's 50 questions are affected): ...
//
// (matching ErrSimCannotParse); use a real model backend for such a file,
// or a built-in family. Other backends' files are not checked.
//
// # Many machines
//
// Distribute puts compiled studies' evaluations on a NATS JetStream work
// queue (package cluster): it publishes the config as a Bundle (the YAML
// with the data and profiles files it reads) and gives every study a
// cluster.Evaluator, so a Runner (with Parallel studies at once) runs them
// as usual while workers (Work, `experiment worker`) compile the bundle and
// evaluate. The coordinator serves its LM cache to the workers, the run
// shares one rate limit (SharedLimiter, NewLimitedModel), and
// Distribution.Track shares each study's spending and best so far
// (StudyState). The trials are those of a local run; docs/cluster.md has
// the commands and what the run guarantees when a process or a server
// dies.
package experiments
