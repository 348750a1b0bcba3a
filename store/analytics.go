package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Contribution is one agent's contribution to a test team (TestBest or
// TestBaseline) by one method (evaluation's MethodShapley, MethodShapleyMC,
// MethodLOO, MethodDyLAN). NaN fields are stored as NULL.
type Contribution struct {
	Team, Method, Agent string
	Value, Lo, Hi, SE   float64
}

// SaveContributions replaces the contributions stored for a study's team
// with cs (all of that team).
func (s *Store) SaveContributions(ctx context.Context, studyID int64, team string, cs []Contribution) error {
	if team != TestBest && team != TestBaseline {
		return errorf(ErrInvalid, "study id %d: contributions of team %q (want %q or %q)", studyID, team, TestBest, TestBaseline)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM contributions WHERE study_id = ? AND team = ?`, studyID, team); err != nil {
			return err
		}
		for _, c := range cs {
			if c.Team != team {
				return errorf(ErrInvalid, "a contribution of team %q among those of %q", c.Team, team)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO contributions (study_id, team, method, agent, value, ci_lo, ci_hi, se)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, studyID, team, c.Method, c.Agent,
				nullFloat(c.Value), nullFloat(c.Lo), nullFloat(c.Hi), nullFloat(c.SE)); err != nil {
				return fmt.Errorf("agent %q method %q: %w", c.Agent, c.Method, err)
			}
		}
		return nil
	})
	if isUnique(err) {
		return errorf(ErrInvalid, "study id %d: contributions of %s list an agent twice for a method", studyID, team)
	}
	if err != nil {
		return fmt.Errorf("store: study id %d: save contributions: %w", studyID, err)
	}
	return nil
}

// Contributions returns a study's stored contributions, by team, method
// and agent.
func (s *Store) Contributions(ctx context.Context, studyID int64) ([]Contribution, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT team, method, agent, value, ci_lo, ci_hi, se FROM contributions
		WHERE study_id = ? ORDER BY team, method, agent`, studyID)
	if err != nil {
		return nil, fmt.Errorf("store: study id %d: contributions: %w", studyID, err)
	}
	defer rows.Close()
	var out []Contribution
	for rows.Next() {
		var c Contribution
		var v, lo, hi, se sql.NullFloat64
		if err := rows.Scan(&c.Team, &c.Method, &c.Agent, &v, &lo, &hi, &se); err != nil {
			return nil, fmt.Errorf("store: study id %d: contributions: %w", studyID, err)
		}
		c.Value, c.Lo, c.Hi, c.SE = floatOrNaN(v), floatOrNaN(lo), floatOrNaN(hi), floatOrNaN(se)
		out = append(out, c)
	}
	return out, rows.Err()
}

// SaveTeamMetrics replaces the named measures stored for a study's test
// team (any of the Test* teams); NaN is stored as NULL.
func (s *Store) SaveTeamMetrics(ctx context.Context, studyID int64, team string, m map[string]float64) error {
	if !testTeam(team) {
		return errorf(ErrInvalid, "study id %d: metrics of team %q", studyID, team)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM team_metrics WHERE study_id = ? AND team = ?`, studyID, team); err != nil {
			return err
		}
		for name, v := range m {
			if _, err := tx.ExecContext(ctx, `INSERT INTO team_metrics (study_id, team, name, value) VALUES (?, ?, ?, ?)`,
				studyID, team, name, nullFloat(v)); err != nil {
				return fmt.Errorf("metric %q: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: study id %d: save team metrics: %w", studyID, err)
	}
	return nil
}

// TeamMetrics returns a study's stored team measures: team → name →
// value (NaN for NULL).
func (s *Store) TeamMetrics(ctx context.Context, studyID int64) (map[string]map[string]float64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT team, name, value FROM team_metrics WHERE study_id = ?`, studyID)
	if err != nil {
		return nil, fmt.Errorf("store: study id %d: team metrics: %w", studyID, err)
	}
	defer rows.Close()
	out := map[string]map[string]float64{}
	for rows.Next() {
		var team, name string
		var v sql.NullFloat64
		if err := rows.Scan(&team, &name, &v); err != nil {
			return nil, fmt.Errorf("store: study id %d: team metrics: %w", studyID, err)
		}
		if out[team] == nil {
			out[team] = map[string]float64{}
		}
		out[team][name] = floatOrNaN(v)
	}
	return out, rows.Err()
}

// ModelCalls are one model's agent calls over a study's trials, and how
// many of its replies ignored the answer format.
type ModelCalls struct {
	Model    string `json:"model"`
	Calls    int64  `json:"calls"`
	Unparsed int64  `json:"unparsed"`
}

// CallStats sums a study's trials' agent calls and unparsed replies by
// model (from agent_metrics, sorted by model) and their retries.
func (s *Store) CallStats(ctx context.Context, studyID int64) (byModel []ModelCalls, retries int64, err error) {
	rows, err := s.db.QueryContext(ctx, `SELECT model, SUM(calls), SUM(unparsed) FROM agent_metrics
		WHERE study_id = ? GROUP BY model ORDER BY model`, studyID)
	if err != nil {
		return nil, 0, fmt.Errorf("store: study id %d: call stats: %w", studyID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var m ModelCalls
		if err := rows.Scan(&m.Model, &m.Calls, &m.Unparsed); err != nil {
			return nil, 0, fmt.Errorf("store: study id %d: call stats: %w", studyID, err)
		}
		byModel = append(byModel, m)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: study id %d: call stats: %w", studyID, err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(retries), 0) FROM trials WHERE study_id = ?`, studyID).Scan(&retries); err != nil {
		return nil, 0, fmt.Errorf("store: study id %d: retries: %w", studyID, err)
	}
	return byModel, retries, nil
}
