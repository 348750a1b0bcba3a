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

// Lease says which process holds a study: a `run` takes it before it
// touches the study and renews it while it runs, so a second `run` of the
// same study refuses at once; a lease whose heartbeat is older than its
// time-to-live is stale (its holder was killed) and is taken over. Ask and
// tell never take one: they commit in short transactions of their own.
type Lease struct {
	Holder    string    // "" when nobody holds the study
	Heartbeat time.Time // the holder's last renewal
}

// LeaseError is returned by AcquireLease when another holder's lease is
// live. errors.Is(err, ErrLeased) matches it.
type LeaseError struct {
	Study string
	Lease Lease
}

func (e *LeaseError) Error() string {
	return fmt.Sprintf("store: study %q is held by %s (heartbeat %s ago); wait for it to finish, or stop it first",
		e.Study, e.Lease.Holder, time.Since(e.Lease.Heartbeat).Round(time.Second))
}

// Is makes errors.Is(err, ErrLeased) true.
func (e *LeaseError) Is(target error) bool { return target == ErrLeased }

// AcquireLease gives the study called name to holder, unless another
// holder's heartbeat is younger than ttl (a *LeaseError). It returns the
// previous holder of a stale lease it took over ("" if there was none, or
// it was holder's own).
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (takenFrom string, err error) {
	if holder == "" {
		return "", errorf(ErrInvalid, "study %q: acquire lease: empty holder", name)
	}
	now := time.Now()
	err = s.write(ctx, func(tx *sql.Tx) error {
		var cur string
		var hb sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT lease_holder, lease_heartbeat FROM studies WHERE name = ?`, name).Scan(&cur, &hb)
		if errors.Is(err, sql.ErrNoRows) {
			return errorf(ErrNotFound, "study %q not found", name)
		}
		if err != nil {
			return err
		}
		beat, err := parseTime(hb)
		if err != nil {
			return err
		}
		if cur != "" && cur != holder && now.Sub(beat) < ttl {
			return &LeaseError{Study: name, Lease: Lease{Holder: cur, Heartbeat: beat}}
		}
		if cur != holder {
			takenFrom = cur
		}
		_, err = tx.ExecContext(ctx, `UPDATE studies SET lease_holder = ?, lease_heartbeat = ? WHERE name = ?`,
			holder, formatTime(now), name)
		return err
	})
	if err != nil {
		var le *LeaseError
		if errors.As(err, &le) || errors.Is(err, ErrNotFound) {
			return "", err
		}
		return "", fmt.Errorf("store: study %q: acquire lease: %w", name, err)
	}
	return takenFrom, nil
}

// RenewLease refreshes holder's heartbeat on the study; a lease lost to
// another holder is a *LeaseError.
func (s *Store) RenewLease(ctx context.Context, name, holder string) error {
	return s.leaseUpdate(ctx, name, holder, `lease_heartbeat = ?`, formatTime(time.Now()))
}

// ReleaseLease gives the study up, if holder holds it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	return s.leaseUpdate(ctx, name, holder, `lease_holder = '', lease_heartbeat = NULL`)
}

func (s *Store) leaseUpdate(ctx context.Context, name, holder, set string, args ...any) error {
	n, err := s.updateStudies(ctx, name, set, args, `lease_holder = ?`, holder)
	if err != nil {
		return err
	}
	if n == 0 {
		st, err := s.Study(ctx, name)
		if err != nil {
			return err
		}
		return &LeaseError{Study: name, Lease: st.Lease}
	}
	return nil
}

// Experiment is what the store keeps of an experiment config: the config
// its studies were last run from, so that `compare` shows those studies
// only.
type Experiment struct {
	Name       string
	ConfigHash string
	Seeds      []uint64
	Studies    []string // the names of the config's studies
	Config     []byte   // JSON, as Study.Config
	Updated    time.Time
}

// SetExperiment records e as the experiment's latest config.
func (s *Store) SetExperiment(ctx context.Context, e Experiment) error {
	if e.Name == "" {
		return errorf(ErrInvalid, "set experiment: empty name")
	}
	config, err := jsonText(e.Config)
	if err != nil {
		return errorf(ErrInvalid, "set experiment %q: config: %v", e.Name, err)
	}
	seeds, err := json.Marshal(e.Seeds)
	if err != nil {
		return err
	}
	studies, err := json.Marshal(e.Studies)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO experiments (name, config_hash, seeds, studies, config, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET config_hash = excluded.config_hash,
			seeds = excluded.seeds, studies = excluded.studies, config = excluded.config, updated_at = excluded.updated_at`,
			e.Name, e.ConfigHash, string(seeds), string(studies), config, formatTime(time.Now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set experiment %q: %w", e.Name, err)
	}
	return nil
}

// Experiment returns the latest config of the experiment called name, or
// ErrNotFound (for a store written before experiments were recorded too).
func (s *Store) Experiment(ctx context.Context, name string) (Experiment, error) {
	e := Experiment{Name: name}
	var seeds, studies string
	var config, updated sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT config_hash, seeds, studies, config, updated_at FROM experiments WHERE name = ?`, name).
		Scan(&e.ConfigHash, &seeds, &studies, &config, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Experiment{}, errorf(ErrNotFound, "experiment %q not found", name)
	}
	if err != nil {
		return Experiment{}, fmt.Errorf("store: experiment %q: %w", name, err)
	}
	if err := json.Unmarshal([]byte(seeds), &e.Seeds); err != nil {
		return Experiment{}, fmt.Errorf("store: experiment %q: seeds: %w", name, err)
	}
	if err := json.Unmarshal([]byte(studies), &e.Studies); err != nil {
		return Experiment{}, fmt.Errorf("store: experiment %q: studies: %w", name, err)
	}
	if config.Valid {
		e.Config = []byte(config.String)
	}
	if e.Updated, err = parseTime(updated); err != nil {
		return Experiment{}, err
	}
	return e, nil
}

// UpdateStudyConfig stores the config a study now runs from (after a
// budget change on resume): its JSON, hash and budget.
func (s *Store) UpdateStudyConfig(ctx context.Context, name string, config []byte, hash string, b optimizer.Budget) error {
	text, err := jsonText(config)
	if err != nil {
		return errorf(ErrInvalid, "study %q: config: %v", name, err)
	}
	return s.updateStudy(ctx, name, `config = ?, config_hash = ?, budget_trials = ?, budget_calls = ?, budget_cost_usd = ?`,
		text, hash, b.Trials, b.Calls, b.Cost)
}

// Test teams whose per-example results SaveTestResults keeps.
const (
	TestBest     = "best"
	TestBaseline = "baseline"
	// TestSelfConsistency is the cost-matched self-consistency baseline,
	// TestSingleAgent the optimized single agent (schema version 4).
	TestSelfConsistency = "self_consistency"
	TestSingleAgent     = "single_agent"
)

func testTeam(t string) bool {
	return t == TestBest || t == TestBaseline || t == TestSelfConsistency || t == TestSingleAgent
}

// SaveTestResults stores the per-example results of the final test
// evaluation of team (TestBest or TestBaseline), replacing any stored.
func (s *Store) SaveTestResults(ctx context.Context, studyID int64, team string, rs []ExampleResult) error {
	if !testTeam(team) {
		return errorf(ErrInvalid, "study id %d: test results of team %q (want %s, %s, %s or %s)", studyID, team,
			TestBest, TestBaseline, TestSelfConsistency, TestSingleAgent)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM test_results WHERE study_id = ? AND team = ?`, studyID, team); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO test_results (study_id, team, example, score, answer, calls,
			tokens, cost_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, e := range rs {
			if _, err := stmt.ExecContext(ctx, studyID, team, e.Example, nullFloat(e.Score), e.Answer, e.Calls, e.Tokens, e.Cost); err != nil {
				return fmt.Errorf("example %q: %w", e.Example, err)
			}
		}
		return nil
	})
	if isUnique(err) {
		return errorf(ErrInvalid, "study id %d: test results of %s list an example twice", studyID, team)
	}
	if err != nil {
		return fmt.Errorf("store: study id %d: save test results: %w", studyID, err)
	}
	return nil
}

// TestResults returns the per-example test results of team, ordered by
// example id; none for a study concluded before they were stored.
func (s *Store) TestResults(ctx context.Context, studyID int64, team string) ([]ExampleResult, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT example, score, answer, calls, tokens, cost_usd FROM test_results
		WHERE study_id = ? AND team = ? ORDER BY example`, studyID, team)
	if err != nil {
		return nil, fmt.Errorf("store: study id %d: test results: %w", studyID, err)
	}
	defer rows.Close()
	var out []ExampleResult
	for rows.Next() {
		var e ExampleResult
		var score sql.NullFloat64
		if err := rows.Scan(&e.Example, &score, &e.Answer, &e.Calls, &e.Tokens, &e.Cost); err != nil {
			return nil, fmt.Errorf("store: study id %d: test results: %w", studyID, err)
		}
		e.Score = floatOrNaN(score)
		out = append(out, e)
	}
	return out, rows.Err()
}
