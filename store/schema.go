package store

// migrations returns the schema steps in order: step i takes the database
// from version i to version i+1. A released step is never edited; a change
// to the schema is a new step appended here (and documented in
// docs/schema.md).
func migrations() []string {
	return []string{schemaV1, schemaV2, schemaV3, schemaV4, schemaV5}
}

// schemaV1 is the first schema. Times are UTC text (see timeLayout), JSON
// columns are text, NULL means "not known" (a NaN value is stored as NULL).
const schemaV1 = `
CREATE TABLE studies (
	id                  INTEGER PRIMARY KEY,
	name                TEXT    NOT NULL UNIQUE,
	experiment          TEXT    NOT NULL DEFAULT '',
	optimizer           TEXT    NOT NULL DEFAULT '',
	dataset             TEXT    NOT NULL DEFAULT '',
	seed                INTEGER NOT NULL DEFAULT 0,
	direction           TEXT    NOT NULL DEFAULT 'maximize' CHECK (direction IN ('maximize', 'minimize')),
	sampler             TEXT    NOT NULL DEFAULT '',
	space               TEXT,
	config              TEXT,
	config_hash         TEXT    NOT NULL DEFAULT '',
	budget_trials       INTEGER NOT NULL DEFAULT 0,
	budget_calls        INTEGER NOT NULL DEFAULT 0,
	budget_cost_usd     REAL    NOT NULL DEFAULT 0,
	status              TEXT    NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'complete', 'interrupted')),
	created_at          TEXT    NOT NULL,
	updated_at          TEXT    NOT NULL,
	best_trial          INTEGER,
	best_val_score      REAL,
	test_score          REAL,
	baseline_test_score REAL,
	lm_calls            INTEGER,
	tokens              INTEGER,
	cost_usd            REAL,
	wall_seconds        REAL
);
CREATE INDEX studies_experiment ON studies (experiment, id);

CREATE TABLE trials (
	study_id   INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
	number     INTEGER NOT NULL CHECK (number >= 0),
	state      TEXT    NOT NULL CHECK (state IN ('running', 'complete', 'fail', 'pruned')),
	value      REAL,
	batch      INTEGER NOT NULL DEFAULT 0,
	calls      INTEGER NOT NULL DEFAULT 0,
	tokens     INTEGER NOT NULL DEFAULT 0,
	cost_usd   REAL    NOT NULL DEFAULT 0,
	started_at TEXT,
	duration_s REAL    NOT NULL DEFAULT 0,
	error      TEXT    NOT NULL DEFAULT '',
	note       TEXT    NOT NULL DEFAULT '',
	params     TEXT    NOT NULL DEFAULT '{}',
	PRIMARY KEY (study_id, number)
);

CREATE TABLE trial_params (
	study_id  INTEGER NOT NULL,
	number    INTEGER NOT NULL,
	name      TEXT    NOT NULL,
	kind      TEXT    NOT NULL CHECK (kind IN ('float', 'int', 'string', 'bool', 'json')),
	value     TEXT    NOT NULL,
	value_num REAL,
	PRIMARY KEY (study_id, number, name),
	FOREIGN KEY (study_id, number) REFERENCES trials (study_id, number) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE agent_metrics (
	study_id        INTEGER NOT NULL,
	number          INTEGER NOT NULL,
	agent           TEXT    NOT NULL,
	role            TEXT    NOT NULL DEFAULT '',
	model           TEXT    NOT NULL DEFAULT '',
	accuracy        REAL,
	round0_accuracy REAL,
	calls           INTEGER NOT NULL DEFAULT 0,
	tokens          INTEGER NOT NULL DEFAULT 0,
	cost_usd        REAL    NOT NULL DEFAULT 0,
	agreement       REAL,
	contribution    REAL,
	PRIMARY KEY (study_id, number, agent),
	FOREIGN KEY (study_id, number) REFERENCES trials (study_id, number) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE example_results (
	study_id INTEGER NOT NULL,
	number   INTEGER NOT NULL,
	example  TEXT    NOT NULL,
	score    REAL,
	answer   TEXT    NOT NULL DEFAULT '',
	calls    INTEGER NOT NULL DEFAULT 0,
	tokens   INTEGER NOT NULL DEFAULT 0,
	cost_usd REAL    NOT NULL DEFAULT 0,
	PRIMARY KEY (study_id, number, example),
	FOREIGN KEY (study_id, number) REFERENCES trials (study_id, number) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE lm_cache (
	key               TEXT    PRIMARY KEY,
	model             TEXT    NOT NULL,
	response          TEXT    NOT NULL,
	prompt_tokens     INTEGER NOT NULL,
	completion_tokens INTEGER NOT NULL,
	cost_usd          REAL    NOT NULL,
	created_at        TEXT    NOT NULL
) WITHOUT ROWID;

CREATE TABLE events (
	id       INTEGER PRIMARY KEY,
	study_id INTEGER REFERENCES studies (id) ON DELETE CASCADE,
	time     TEXT    NOT NULL,
	kind     TEXT    NOT NULL,
	message  TEXT    NOT NULL DEFAULT '',
	data     TEXT
);
CREATE INDEX events_study ON events (study_id, id);
`

// schemaV2 adds what run integrity and the program contract need: a trial
// state for trials the budget stopped ('stopped'), the split a trial was
// scored on, its parent, strategy, step and per-agent materials, the billed
// cost beside the nominal one,
// leases on studies, each experiment's latest config, and the per-example
// results of the final test evaluations. SQLite cannot change a CHECK
// constraint, so trials and the tables that reference it are rebuilt:
// children first (dropping a child cascades nothing), then trials, then the
// new tables are renamed into place (renaming rewrites the references).
const schemaV2 = `
CREATE TABLE trials_v2 (
	study_id        INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
	number          INTEGER NOT NULL CHECK (number >= 0),
	state           TEXT    NOT NULL CHECK (state IN ('running', 'complete', 'fail', 'pruned', 'stopped')),
	value           REAL,
	batch           INTEGER NOT NULL DEFAULT 0,
	calls           INTEGER NOT NULL DEFAULT 0,
	tokens          INTEGER NOT NULL DEFAULT 0,
	cost_usd        REAL    NOT NULL DEFAULT 0,
	billed_cost_usd REAL    NOT NULL DEFAULT 0,
	started_at      TEXT,
	duration_s      REAL    NOT NULL DEFAULT 0,
	error           TEXT    NOT NULL DEFAULT '',
	note            TEXT    NOT NULL DEFAULT '',
	params          TEXT    NOT NULL DEFAULT '{}',
	split           TEXT    NOT NULL DEFAULT '' CHECK (split IN ('', 'train', 'val', 'test')),
	parent          INTEGER,
	strategy        TEXT    NOT NULL DEFAULT '',
	step            INTEGER NOT NULL DEFAULT 0,
	program         TEXT,
	PRIMARY KEY (study_id, number)
);
INSERT INTO trials_v2 (study_id, number, state, value, batch, calls, tokens, cost_usd, billed_cost_usd,
	started_at, duration_s, error, note, params)
	SELECT study_id, number, state, value, batch, calls, tokens, cost_usd, cost_usd,
	started_at, duration_s, error, note, params FROM trials;
-- Experiment studies scored every trial on validation; ask/tell ones have no split.
UPDATE trials_v2 SET split = 'val' WHERE batch > 0;

CREATE TABLE trial_params_v2 (
	study_id  INTEGER NOT NULL,
	number    INTEGER NOT NULL,
	name      TEXT    NOT NULL,
	kind      TEXT    NOT NULL CHECK (kind IN ('float', 'int', 'string', 'bool', 'json')),
	value     TEXT    NOT NULL,
	value_num REAL,
	PRIMARY KEY (study_id, number, name),
	FOREIGN KEY (study_id, number) REFERENCES trials_v2 (study_id, number) ON DELETE CASCADE
) WITHOUT ROWID;
INSERT INTO trial_params_v2 SELECT * FROM trial_params;

CREATE TABLE agent_metrics_v2 (
	study_id        INTEGER NOT NULL,
	number          INTEGER NOT NULL,
	agent           TEXT    NOT NULL,
	role            TEXT    NOT NULL DEFAULT '',
	model           TEXT    NOT NULL DEFAULT '',
	accuracy        REAL,
	round0_accuracy REAL,
	calls           INTEGER NOT NULL DEFAULT 0,
	tokens          INTEGER NOT NULL DEFAULT 0,
	cost_usd        REAL    NOT NULL DEFAULT 0,
	agreement       REAL,
	contribution    REAL,
	PRIMARY KEY (study_id, number, agent),
	FOREIGN KEY (study_id, number) REFERENCES trials_v2 (study_id, number) ON DELETE CASCADE
) WITHOUT ROWID;
INSERT INTO agent_metrics_v2 SELECT * FROM agent_metrics;

CREATE TABLE example_results_v2 (
	study_id INTEGER NOT NULL,
	number   INTEGER NOT NULL,
	example  TEXT    NOT NULL,
	score    REAL,
	answer   TEXT    NOT NULL DEFAULT '',
	calls    INTEGER NOT NULL DEFAULT 0,
	tokens   INTEGER NOT NULL DEFAULT 0,
	cost_usd REAL    NOT NULL DEFAULT 0,
	PRIMARY KEY (study_id, number, example),
	FOREIGN KEY (study_id, number) REFERENCES trials_v2 (study_id, number) ON DELETE CASCADE
) WITHOUT ROWID;
INSERT INTO example_results_v2 SELECT * FROM example_results;

DROP TABLE trial_params;
DROP TABLE agent_metrics;
DROP TABLE example_results;
DROP TABLE trials;
ALTER TABLE trials_v2 RENAME TO trials;
ALTER TABLE trial_params_v2 RENAME TO trial_params;
ALTER TABLE agent_metrics_v2 RENAME TO agent_metrics;
ALTER TABLE example_results_v2 RENAME TO example_results;

ALTER TABLE studies ADD COLUMN billed_cost_usd REAL;
ALTER TABLE studies ADD COLUMN lease_holder TEXT NOT NULL DEFAULT '';
ALTER TABLE studies ADD COLUMN lease_heartbeat TEXT;
UPDATE studies SET billed_cost_usd = cost_usd;

CREATE TABLE experiments (
	name        TEXT PRIMARY KEY,
	config_hash TEXT NOT NULL,
	seeds       TEXT NOT NULL DEFAULT '[]',
	studies     TEXT NOT NULL DEFAULT '[]',
	config      TEXT,
	updated_at  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE test_results (
	study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
	team     TEXT    NOT NULL CHECK (team IN ('best', 'baseline')),
	example  TEXT    NOT NULL,
	score    REAL,
	answer   TEXT    NOT NULL DEFAULT '',
	calls    INTEGER NOT NULL DEFAULT 0,
	tokens   INTEGER NOT NULL DEFAULT 0,
	cost_usd REAL    NOT NULL DEFAULT 0,
	PRIMARY KEY (study_id, team, example)
) WITHOUT ROWID;
`

// schemaV3 adds the optimizer's own data kept with a trial (SIMBA's
// rollout trajectories, BEACON's fitted hyperparameters), which a resumed
// study reads back, and the split 'val-batch' (a mini-batch of the
// validation split, which does not compete for the best). The CHECK on
// split changes, so trials and its children are rebuilt as in version 2.
const schemaV3 = `
CREATE TABLE trials_v3 (
	study_id        INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
	number          INTEGER NOT NULL CHECK (number >= 0),
	state           TEXT    NOT NULL CHECK (state IN ('running', 'complete', 'fail', 'pruned', 'stopped')),
	value           REAL,
	batch           INTEGER NOT NULL DEFAULT 0,
	calls           INTEGER NOT NULL DEFAULT 0,
	tokens          INTEGER NOT NULL DEFAULT 0,
	cost_usd        REAL    NOT NULL DEFAULT 0,
	billed_cost_usd REAL    NOT NULL DEFAULT 0,
	started_at      TEXT,
	duration_s      REAL    NOT NULL DEFAULT 0,
	error           TEXT    NOT NULL DEFAULT '',
	note            TEXT    NOT NULL DEFAULT '',
	params          TEXT    NOT NULL DEFAULT '{}',
	split           TEXT    NOT NULL DEFAULT '' CHECK (split IN ('', 'train', 'val', 'val-batch', 'test')),
	parent          INTEGER,
	strategy        TEXT    NOT NULL DEFAULT '',
	step            INTEGER NOT NULL DEFAULT 0,
	program         TEXT,
	data            TEXT,
	PRIMARY KEY (study_id, number)
);
INSERT INTO trials_v3 (study_id, number, state, value, batch, calls, tokens, cost_usd, billed_cost_usd,
	started_at, duration_s, error, note, params, split, parent, strategy, step, program)
	SELECT study_id, number, state, value, batch, calls, tokens, cost_usd, billed_cost_usd,
	started_at, duration_s, error, note, params, split, parent, strategy, step, program FROM trials;

CREATE TABLE trial_params_v3 (
	study_id  INTEGER NOT NULL,
	number    INTEGER NOT NULL,
	name      TEXT    NOT NULL,
	kind      TEXT    NOT NULL CHECK (kind IN ('float', 'int', 'string', 'bool', 'json')),
	value     TEXT    NOT NULL,
	value_num REAL,
	PRIMARY KEY (study_id, number, name),
	FOREIGN KEY (study_id, number) REFERENCES trials_v3 (study_id, number) ON DELETE CASCADE
) WITHOUT ROWID;
INSERT INTO trial_params_v3 SELECT * FROM trial_params;

CREATE TABLE agent_metrics_v3 (
	study_id        INTEGER NOT NULL,
	number          INTEGER NOT NULL,
	agent           TEXT    NOT NULL,
	role            TEXT    NOT NULL DEFAULT '',
	model           TEXT    NOT NULL DEFAULT '',
	accuracy        REAL,
	round0_accuracy REAL,
	calls           INTEGER NOT NULL DEFAULT 0,
	tokens          INTEGER NOT NULL DEFAULT 0,
	cost_usd        REAL    NOT NULL DEFAULT 0,
	agreement       REAL,
	contribution    REAL,
	PRIMARY KEY (study_id, number, agent),
	FOREIGN KEY (study_id, number) REFERENCES trials_v3 (study_id, number) ON DELETE CASCADE
) WITHOUT ROWID;
INSERT INTO agent_metrics_v3 SELECT * FROM agent_metrics;

CREATE TABLE example_results_v3 (
	study_id INTEGER NOT NULL,
	number   INTEGER NOT NULL,
	example  TEXT    NOT NULL,
	score    REAL,
	answer   TEXT    NOT NULL DEFAULT '',
	calls    INTEGER NOT NULL DEFAULT 0,
	tokens   INTEGER NOT NULL DEFAULT 0,
	cost_usd REAL    NOT NULL DEFAULT 0,
	PRIMARY KEY (study_id, number, example),
	FOREIGN KEY (study_id, number) REFERENCES trials_v3 (study_id, number) ON DELETE CASCADE
) WITHOUT ROWID;
INSERT INTO example_results_v3 SELECT * FROM example_results;

DROP TABLE trial_params;
DROP TABLE agent_metrics;
DROP TABLE example_results;
DROP TABLE trials;
ALTER TABLE trials_v3 RENAME TO trials;
ALTER TABLE trial_params_v3 RENAME TO trial_params;
ALTER TABLE agent_metrics_v3 RENAME TO agent_metrics;
ALTER TABLE example_results_v3 RENAME TO example_results;
`

// schemaV4 adds the team analytics of a concluded study: each agent's
// contribution to a test team by each method, a test team's measures
// (coordination efficiency, overhead, the baselines' settings), and test
// results of the two matched baselines (the cost-matched self-consistency
// and the optimized single agent). test_results is rebuilt for its wider
// CHECK.
const schemaV4 = `
CREATE TABLE test_results_v4 (
	study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
	team     TEXT    NOT NULL CHECK (team IN ('best', 'baseline', 'self_consistency', 'single_agent')),
	example  TEXT    NOT NULL,
	score    REAL,
	answer   TEXT    NOT NULL DEFAULT '',
	calls    INTEGER NOT NULL DEFAULT 0,
	tokens   INTEGER NOT NULL DEFAULT 0,
	cost_usd REAL    NOT NULL DEFAULT 0,
	PRIMARY KEY (study_id, team, example)
) WITHOUT ROWID;
INSERT INTO test_results_v4 SELECT * FROM test_results;
DROP TABLE test_results;
ALTER TABLE test_results_v4 RENAME TO test_results;

CREATE TABLE contributions (
	study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
	team     TEXT    NOT NULL CHECK (team IN ('best', 'baseline')),
	method   TEXT    NOT NULL CHECK (method IN ('shapley', 'shapley_mc', 'loo', 'dylan')),
	agent    TEXT    NOT NULL,
	value    REAL,
	ci_lo    REAL,
	ci_hi    REAL,
	se       REAL,
	PRIMARY KEY (study_id, team, method, agent)
) WITHOUT ROWID;

CREATE TABLE team_metrics (
	study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
	team     TEXT    NOT NULL CHECK (team IN ('best', 'baseline', 'self_consistency', 'single_agent')),
	name     TEXT    NOT NULL,
	value    REAL,
	PRIMARY KEY (study_id, team, name)
) WITHOUT ROWID;
`

// schemaV5 is for real models: each trial's retries (failed attempts
// before the replies), each agent's replies that ignored the answer
// format, and the per-call records a surrogate is calibrated from
// (`calls`, written when the run records calls).
const schemaV5 = `
ALTER TABLE trials ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agent_metrics ADD COLUMN unparsed INTEGER NOT NULL DEFAULT 0;

CREATE TABLE calls (
	study_id          INTEGER NOT NULL,
	number            INTEGER NOT NULL,
	seq               INTEGER NOT NULL CHECK (seq >= 0),
	example           TEXT    NOT NULL,
	family            TEXT    NOT NULL DEFAULT '',
	difficulty        INTEGER NOT NULL DEFAULT 0,
	agent             TEXT    NOT NULL,
	role              TEXT    NOT NULL DEFAULT '',
	model             TEXT    NOT NULL DEFAULT '',
	round             INTEGER NOT NULL DEFAULT 0,
	temperature       REAL    NOT NULL DEFAULT 0,
	max_tokens        INTEGER NOT NULL DEFAULT 0,
	messages          TEXT    NOT NULL DEFAULT '[]',
	output            TEXT    NOT NULL DEFAULT '',
	answer            TEXT    NOT NULL DEFAULT '',
	parsed            INTEGER NOT NULL DEFAULT 1 CHECK (parsed IN (0, 1)),
	score             REAL,
	confidence        REAL,
	prompt_tokens     INTEGER NOT NULL DEFAULT 0,
	completion_tokens INTEGER NOT NULL DEFAULT 0,
	latency_s         REAL    NOT NULL DEFAULT 0,
	retries           INTEGER NOT NULL DEFAULT 0,
	cached            INTEGER NOT NULL DEFAULT 0 CHECK (cached IN (0, 1)),
	PRIMARY KEY (study_id, number, seq),
	FOREIGN KEY (study_id, number) REFERENCES trials (study_id, number) ON DELETE CASCADE
) WITHOUT ROWID;
`
