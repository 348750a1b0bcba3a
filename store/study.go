package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mabeam/mabeam/optimizer"
)

// Status is a study's life-cycle status.
type Status string

// Study statuses, as stored.
const (
	StatusRunning     Status = "running"     // being run, or stopped without a word (killed)
	StatusComplete    Status = "complete"    // ran to the end of its budget
	StatusInterrupted Status = "interrupted" // stopped early (signal, error); --resume continues it
)

func (st Status) valid() bool {
	return st == StatusRunning || st == StatusComplete || st == StatusInterrupted
}

// Study is one optimization run (one optimizer, dataset and seed of an
// experiment, or one ask/tell study), as stored.
type Study struct {
	// ID is assigned by CreateStudy; it is what the trial methods take.
	ID int64
	// Name is unique in the store; required.
	Name string
	// Experiment names the experiment config the study belongs to; "" for
	// a study outside any experiment (ask/tell).
	Experiment string
	Optimizer  string // e.g. "simba", "beacon", "random"; "" if not known
	Dataset    string // e.g. "arithmetic"; "" for a black-box study
	// Seed is the study's random seed. Seeds of 2^63 and above read as
	// negative numbers in SQL.
	Seed      uint64
	Direction optimizer.Direction
	Sampler   string // the ask/tell sampler, e.g. "random"; "" if none
	// Space is the JSON of the search space (space.ParseJSON's format); nil
	// if not stored.
	Space []byte
	// Config is the JSON of the experiment config the study ran from, and
	// ConfigHash a hash of it that --resume compares; nil and "" if none.
	Config     []byte
	ConfigHash string
	Budget     optimizer.Budget
	// Status is "" in CreateStudy's argument, meaning StatusRunning.
	Status Status
	// Created and Updated are set by the store.
	Created, Updated time.Time
	// Result holds the figures known at the end of the study; nil fields
	// are not known (yet).
	Result Result
	// Lease is who holds the study (AcquireLease); read-only here.
	Lease Lease
}

// Result is the outcome of a study. A nil field is not known; in
// UpdateStudyResult a nil field leaves the stored value as it is.
type Result struct {
	BestTrial         *int     // number of the best trial on validation
	BestValScore      *float64 // its validation score
	TestScore         *float64 // the best assignment's score on test
	BaselineTestScore *float64 // the baseline team's score on test
	LMCalls           *int64   // all LM calls, the optimizer's own included
	Tokens            *int64
	CostUSD           *float64 // nominal: what the calls cost uncached
	BilledCostUSD     *float64 // what was paid: CostUSD less cache hits
	WallSeconds       *float64
}

// CreateStudy stores a new study and returns it with ID, Status, Created
// and Updated set. A study of the same name is ErrExists.
func (s *Store) CreateStudy(ctx context.Context, st Study) (Study, error) {
	if st.Name == "" {
		return Study{}, errorf(ErrInvalid, "create study: empty name")
	}
	if st.Status == "" {
		st.Status = StatusRunning
	}
	if !st.Status.valid() {
		return Study{}, errorf(ErrInvalid, "create study %q: status %q is not running, complete or interrupted", st.Name, st.Status)
	}
	space, err := jsonText(st.Space)
	if err != nil {
		return Study{}, errorf(ErrInvalid, "create study %q: space: %v", st.Name, err)
	}
	config, err := jsonText(st.Config)
	if err != nil {
		return Study{}, errorf(ErrInvalid, "create study %q: config: %v", st.Name, err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	st.Created, st.Updated = now, now
	r := st.Result
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO studies (name, experiment, optimizer, dataset, seed,
			direction, sampler, space, config, config_hash, budget_trials, budget_calls, budget_cost_usd,
			status, created_at, updated_at, best_trial, best_val_score, test_score, baseline_test_score,
			lm_calls, tokens, cost_usd, wall_seconds, billed_cost_usd)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			st.Name, st.Experiment, st.Optimizer, st.Dataset, int64(st.Seed),
			st.Direction.String(), st.Sampler, space, config, st.ConfigHash,
			st.Budget.Trials, st.Budget.Calls, st.Budget.Cost,
			string(st.Status), formatTime(now), formatTime(now),
			r.BestTrial, r.BestValScore, r.TestScore, r.BaselineTestScore,
			r.LMCalls, r.Tokens, r.CostUSD, r.WallSeconds, r.BilledCostUSD)
		if err != nil {
			return err
		}
		st.ID, err = res.LastInsertId()
		return err
	})
	if isUnique(err) {
		return Study{}, errorf(ErrExists, "create study %q: a study of that name exists (choose another name, or resume it)", st.Name)
	}
	if err != nil {
		return Study{}, fmt.Errorf("store: create study %q: %w", st.Name, err)
	}
	return st, nil
}

// jsonText checks b is JSON and returns it as text, or nil (NULL) for none.
func jsonText(b []byte) (any, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if !json.Valid(b) {
		return nil, errors.New("not valid JSON")
	}
	return string(b), nil
}

const studyColumns = `id, name, experiment, optimizer, dataset, seed, direction, sampler, space, config,
	config_hash, budget_trials, budget_calls, budget_cost_usd, status, created_at, updated_at,
	best_trial, best_val_score, test_score, baseline_test_score, lm_calls, tokens, cost_usd, wall_seconds,
	billed_cost_usd, lease_holder, lease_heartbeat`

// Study returns the study called name, or ErrNotFound.
func (s *Store) Study(ctx context.Context, name string) (Study, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+studyColumns+` FROM studies WHERE name = ?`, name)
	st, err := scanStudy(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Study{}, errorf(ErrNotFound, "study %q not found", name)
	}
	if err != nil {
		return Study{}, fmt.Errorf("store: study %q: %w", name, err)
	}
	return st, nil
}

// Studies returns the studies of experiment in creation order, or every
// study if experiment is "".
func (s *Store) Studies(ctx context.Context, experiment string) ([]Study, error) {
	q := `SELECT ` + studyColumns + ` FROM studies`
	var args []any
	if experiment != "" {
		q += ` WHERE experiment = ?`
		args = append(args, experiment)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: studies: %w", err)
	}
	defer rows.Close()
	var out []Study
	for rows.Next() {
		st, err := scanStudy(rows)
		if err != nil {
			return nil, fmt.Errorf("store: studies: %w", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: studies: %w", err)
	}
	return out, nil
}

func scanStudy(row interface{ Scan(...any) error }) (Study, error) {
	var (
		st               Study
		seed             int64
		dir, status      string
		space, config    sql.NullString
		created, updated sql.NullString
		bestTrial        sql.NullInt64
		calls, tokens    sql.NullInt64
		bestVal, test    sql.NullFloat64
		baseline, cost   sql.NullFloat64
		wall, billed     sql.NullFloat64
		heartbeat        sql.NullString
	)
	err := row.Scan(&st.ID, &st.Name, &st.Experiment, &st.Optimizer, &st.Dataset, &seed, &dir,
		&st.Sampler, &space, &config, &st.ConfigHash, &st.Budget.Trials, &st.Budget.Calls,
		&st.Budget.Cost, &status, &created, &updated, &bestTrial, &bestVal, &test, &baseline,
		&calls, &tokens, &cost, &wall, &billed, &st.Lease.Holder, &heartbeat)
	if err != nil {
		return Study{}, err
	}
	st.Seed = uint64(seed)
	if st.Direction, err = optimizer.ParseDirection(dir); err != nil {
		return Study{}, err
	}
	st.Status = Status(status)
	if space.Valid {
		st.Space = []byte(space.String)
	}
	if config.Valid {
		st.Config = []byte(config.String)
	}
	if st.Created, err = parseTime(created); err != nil {
		return Study{}, err
	}
	if st.Updated, err = parseTime(updated); err != nil {
		return Study{}, err
	}
	if bestTrial.Valid {
		n := int(bestTrial.Int64)
		st.Result.BestTrial = &n
	}
	st.Result.BestValScore = ptrFloat(bestVal)
	st.Result.TestScore = ptrFloat(test)
	st.Result.BaselineTestScore = ptrFloat(baseline)
	st.Result.LMCalls = ptrInt(calls)
	st.Result.Tokens = ptrInt(tokens)
	st.Result.CostUSD = ptrFloat(cost)
	st.Result.WallSeconds = ptrFloat(wall)
	st.Result.BilledCostUSD = ptrFloat(billed)
	if st.Lease.Heartbeat, err = parseTime(heartbeat); err != nil {
		return Study{}, err
	}
	return st, nil
}

func ptrFloat(x sql.NullFloat64) *float64 {
	if !x.Valid {
		return nil
	}
	return &x.Float64
}

func ptrInt(x sql.NullInt64) *int64 {
	if !x.Valid {
		return nil
	}
	return &x.Int64
}

// UpdateStudyResult stores the non-nil fields of r in the study called
// name; nil fields keep their stored value.
func (s *Store) UpdateStudyResult(ctx context.Context, name string, r Result) error {
	return s.updateStudy(ctx, name, `best_trial = COALESCE(?, best_trial),
		best_val_score = COALESCE(?, best_val_score), test_score = COALESCE(?, test_score),
		baseline_test_score = COALESCE(?, baseline_test_score), lm_calls = COALESCE(?, lm_calls),
		tokens = COALESCE(?, tokens), cost_usd = COALESCE(?, cost_usd),
		wall_seconds = COALESCE(?, wall_seconds), billed_cost_usd = COALESCE(?, billed_cost_usd)`,
		r.BestTrial, r.BestValScore, r.TestScore, r.BaselineTestScore, r.LMCalls, r.Tokens,
		r.CostUSD, r.WallSeconds, r.BilledCostUSD)
}

// SetStudyStatus sets the status of the study called name.
func (s *Store) SetStudyStatus(ctx context.Context, name string, status Status) error {
	if !status.valid() {
		return errorf(ErrInvalid, "study %q: status %q is not running, complete or interrupted", name, status)
	}
	return s.updateStudy(ctx, name, `status = ?`, string(status))
}

// updateStudy runs UPDATE studies SET set, updated_at WHERE name.
func (s *Store) updateStudy(ctx context.Context, name, set string, args ...any) error {
	n, err := s.updateStudies(ctx, name, set, args, "")
	if err == nil && n == 0 {
		return errorf(ErrNotFound, "study %q not found", name)
	}
	return err
}

// updateStudies runs UPDATE studies SET set, updated_at WHERE name, and
// the condition and if it is not "", and returns how many rows changed.
func (s *Store) updateStudies(ctx context.Context, name, set string, setArgs []any, and string, andArgs ...any) (int64, error) {
	where := `name = ?`
	if and != "" {
		where += ` AND ` + and
	}
	all := append(append(append([]any{}, setArgs...), formatTime(time.Now()), name), andArgs...)
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE studies SET `+set+`, updated_at = ? WHERE `+where, all...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: update study %q: %w", name, err)
	}
	return n, nil
}
