package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/optimizer"
	"github.com/mabeam/mabeam/space"
)

// TrialRecord is a finished trial with what was measured in it, written in
// one transaction by FinishTrial and InsertTrials.
type TrialRecord struct {
	Trial    optimizer.Trial
	Agents   []AgentMetric   // one per agent of the team; may be empty
	Examples []ExampleResult // one per evaluated example; may be empty
	// Calls are the trial's agent calls, in order; empty unless the run
	// records calls (a real model's runs do by default).
	Calls []Call
}

// Call is one agent call of a trial: the request's messages and settings,
// the reply, its parsed answer and how it scored. It is what `experiment
// calibrate` fits a surrogate to.
type Call struct {
	Seq        int    // the call's position in the trial, from 0
	Example    string // the example's id
	Family     string // the example's family and difficulty, if known
	Difficulty int
	Agent      string
	Role       string
	Model      string // the model name the team used
	Round      int
	// Temperature and MaxTokens are the request's settings.
	Temperature float64
	MaxTokens   int
	Messages    []lm.Message
	Output      string // the raw reply
	Answer      string // the parsed answer; "" when the agent abstained
	// Parsed is false when the reply did not follow the answer format.
	Parsed bool
	// Score is the metric of Answer against the gold answer; NaN if not
	// scored.
	Score            float64
	Confidence       float64
	PromptTokens     int64
	CompletionTokens int64
	Latency          time.Duration
	Retries          int
	Cached           bool
}

// AgentMetric is one agent's figures over a trial's examples. A NaN rate
// is stored as NULL (not measured).
type AgentMetric struct {
	Agent string // the agent's id, unique within the trial; required
	Role  string // e.g. "solver", "critic", "judge"
	Model string // e.g. "sim-medium"
	// Accuracy is the fraction of examples the agent answered right in its
	// last round, Round0Accuracy the same in round 0 (before seeing peers).
	Accuracy, Round0Accuracy float64
	Calls, Tokens            int64
	Cost                     float64 // US dollars
	// Agreement is the fraction of examples where the agent's last answer
	// was the team's answer.
	Agreement float64
	// Contribution is the agent's credit for the team score (Shapley value
	// or leave-one-out difference).
	Contribution float64
	// Unparsed counts the agent's replies that did not follow the answer
	// format.
	Unparsed int64
}

// ExampleResult is the team's result on one example in a trial.
type ExampleResult struct {
	Example string  // the example's id, unique within the trial; required
	Score   float64 // the metric's score, usually 0 or 1; NaN if not scored
	Answer  string  // the team's final answer
	Calls   int64
	Tokens  int64
	Cost    float64 // US dollars
}

// StartTrial stores t as a running trial of study studyID (the ask of
// ask/tell), without a value. t.State must be Running or "". A trial of
// that number is ErrExists; an unknown study ErrNotFound.
func (s *Store) StartTrial(ctx context.Context, studyID int64, t optimizer.Trial) error {
	if t.State == "" {
		t.State = optimizer.Running
	}
	if t.State != optimizer.Running {
		return errorf(ErrInvalid, "study id %d: start trial %d: state %q, want running (use FinishTrial)", studyID, t.Number, t.State)
	}
	t.Value = math.NaN() // a running trial has no value yet
	if err := checkLineage(&t); err != nil {
		return errorf(ErrInvalid, "study id %d: start trial %d: %v", studyID, t.Number, err)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		w, err := newTrialWriter(ctx, tx, studyID)
		if err != nil {
			return err
		}
		defer w.close()
		return w.start(ctx, t)
	})
}

// FinishTrial stores a finished trial with its agent metrics and example
// results in one transaction: after a crash the trial is either all there
// or not there. It replaces a running trial of the same number, or adds the
// trial if there is none; a trial already finished is ErrFinished.
func (s *Store) FinishTrial(ctx context.Context, studyID int64, rec TrialRecord) error {
	return s.InsertTrials(ctx, studyID, []TrialRecord{rec})
}

// InsertTrials stores finished trials as FinishTrial does, all in one
// transaction: if one fails, none is stored.
func (s *Store) InsertTrials(ctx context.Context, studyID int64, recs []TrialRecord) error {
	for i := range recs {
		if err := validateRecord(&recs[i]); err != nil {
			return errorf(ErrInvalid, "study id %d: trial %d: %v", studyID, recs[i].Trial.Number, err)
		}
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		w, err := newTrialWriter(ctx, tx, studyID)
		if err != nil {
			return err
		}
		defer w.close()
		if len(recs) > 1 {
			if err := w.prefetch(ctx, recs); err != nil {
				return err
			}
		}
		for i := range recs {
			if err := w.finish(ctx, &recs[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkLineage checks the split and parent of t.
func checkLineage(t *optimizer.Trial) error {
	switch t.Split {
	case "", optimizer.SplitTrain, optimizer.SplitVal, optimizer.SplitValBatch, optimizer.SplitTest:
	default:
		return fmt.Errorf("split %q is not %q, %q, %q, %q or empty", t.Split, optimizer.SplitTrain, optimizer.SplitVal, optimizer.SplitValBatch, optimizer.SplitTest)
	}
	if t.Parent != nil && (*t.Parent < 0 || *t.Parent >= t.Number) {
		return fmt.Errorf("parent %d is not an earlier trial", *t.Parent)
	}
	if len(t.Data) > 0 && !json.Valid(t.Data) {
		return errors.New("data is not valid JSON")
	}
	return nil
}

func validateRecord(r *TrialRecord) error {
	t := &r.Trial
	switch t.State {
	case optimizer.Complete:
		if math.IsNaN(t.Value) {
			return errors.New("complete with a NaN value (store it as failed)")
		}
		if math.IsInf(t.Value, 0) {
			return fmt.Errorf("complete with an infinite value %g (store it as failed)", t.Value)
		}
	case optimizer.Failed, optimizer.Pruned, optimizer.Stopped:
	default:
		return fmt.Errorf("state %q is not complete, fail, pruned or stopped (use StartTrial for a running trial)", t.State)
	}
	if t.Number < 0 {
		return errors.New("negative number")
	}
	if err := checkLineage(t); err != nil {
		return err
	}
	for _, a := range r.Agents {
		if a.Agent == "" {
			return errors.New("agent metric with an empty agent id")
		}
	}
	for _, e := range r.Examples {
		if e.Example == "" {
			return errors.New("example result with an empty example id")
		}
	}
	return nil
}

// trialWriter writes trials of one study inside one transaction, preparing
// each statement once on first use.
type trialWriter struct {
	tx      *sql.Tx
	studyID int64
	study   string // the study's name, for messages
	stmts   map[string]*sql.Stmt
	// states, if not nil, holds the state of every stored trial in the
	// range being written, so a batch need not look each one up.
	states map[int]optimizer.State
}

func newTrialWriter(ctx context.Context, tx *sql.Tx, studyID int64) (*trialWriter, error) {
	w := &trialWriter{tx: tx, studyID: studyID, stmts: map[string]*sql.Stmt{}}
	err := tx.QueryRowContext(ctx, `SELECT name FROM studies WHERE id = ?`, studyID).Scan(&w.study)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errorf(ErrNotFound, "study id %d not found", studyID)
	}
	if err != nil {
		return nil, fmt.Errorf("store: study id %d: %w", studyID, err)
	}
	return w, nil
}

func (w *trialWriter) close() {
	for _, st := range w.stmts {
		st.Close()
	}
}

// exec runs query (prepared once per transaction) with args.
func (w *trialWriter) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, ok := w.stmts[query]
	if !ok {
		var err error
		if st, err = w.tx.PrepareContext(ctx, query); err != nil {
			return nil, err
		}
		w.stmts[query] = st
	}
	return st.ExecContext(ctx, args...)
}

func (w *trialWriter) errf(n int, err error) error {
	return fmt.Errorf("store: study %q: trial %d: %w", w.study, n, err)
}

// prefetch loads the states of the stored trials in the range of recs.
func (w *trialWriter) prefetch(ctx context.Context, recs []TrialRecord) error {
	lo, hi := recs[0].Trial.Number, recs[0].Trial.Number
	for i := range recs {
		lo, hi = min(lo, recs[i].Trial.Number), max(hi, recs[i].Trial.Number)
	}
	rows, err := w.tx.QueryContext(ctx, `SELECT number, state FROM trials
		WHERE study_id = ? AND number BETWEEN ? AND ?`, w.studyID, lo, hi)
	if err != nil {
		return fmt.Errorf("store: study %q: trials %d..%d: %w", w.study, lo, hi, err)
	}
	defer rows.Close()
	w.states = map[int]optimizer.State{}
	for rows.Next() {
		var n int
		var st string
		if err := rows.Scan(&n, &st); err != nil {
			return fmt.Errorf("store: study %q: trials %d..%d: %w", w.study, lo, hi, err)
		}
		w.states[n] = optimizer.State(st)
	}
	return rows.Err()
}

// state returns the stored state of trial n, "" if there is none.
func (w *trialWriter) state(ctx context.Context, n int) (optimizer.State, error) {
	if w.states != nil {
		return w.states[n], nil
	}
	st, ok := w.stmts[qState]
	if !ok {
		var err error
		if st, err = w.tx.PrepareContext(ctx, qState); err != nil {
			return "", err
		}
		w.stmts[qState] = st
	}
	var s string
	err := st.QueryRowContext(ctx, w.studyID, n).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return optimizer.State(s), err
}

const (
	qState       = `SELECT state FROM trials WHERE study_id = ? AND number = ?`
	qInsertTrial = `INSERT INTO trials (study_id, number, state, value, batch, calls, tokens, cost_usd,
		started_at, duration_s, error, note, params, billed_cost_usd, split, parent, strategy, step, program, data, retries)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qUpdateTrial = `UPDATE trials SET state = ?3, value = ?4, batch = ?5, calls = ?6, tokens = ?7,
		cost_usd = ?8, started_at = ?9, duration_s = ?10, error = ?11, note = ?12, params = ?13,
		billed_cost_usd = ?14, split = ?15, parent = ?16, strategy = ?17, step = ?18, program = ?19, data = ?20,
		retries = ?21 WHERE study_id = ?1 AND number = ?2`
	qDeleteParams   = `DELETE FROM trial_params WHERE study_id = ? AND number = ?`
	qDeleteAgents   = `DELETE FROM agent_metrics WHERE study_id = ? AND number = ?`
	qDeleteExamples = `DELETE FROM example_results WHERE study_id = ? AND number = ?`
	qDeleteCalls    = `DELETE FROM calls WHERE study_id = ? AND number = ?`
	qInsertAgent    = `INSERT INTO agent_metrics (study_id, number, agent, role, model, accuracy,
		round0_accuracy, calls, tokens, cost_usd, agreement, contribution, unparsed)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qInsertCall = `INSERT INTO calls (study_id, number, seq, example, family, difficulty, agent, role,
		model, round, temperature, max_tokens, messages, output, answer, parsed, score, confidence,
		prompt_tokens, completion_tokens, latency_s, retries, cached)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qInsertExample = `INSERT INTO example_results (study_id, number, example, score, answer, calls,
		tokens, cost_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
)

// trialArgs are the arguments of qInsertTrial and qUpdateTrial.
func (w *trialWriter) trialArgs(t *optimizer.Trial) ([]any, error) {
	params, err := paramsJSON(t.Params)
	if err != nil {
		return nil, err
	}
	var program any // NULL without materials
	if t.Agents != nil {
		b, err := json.Marshal(t.Agents)
		if err != nil {
			return nil, fmt.Errorf("program: %w", err)
		}
		program = string(b)
	}
	var data any // NULL without optimizer data
	if len(t.Data) > 0 {
		data = string(t.Data)
	}
	return []any{w.studyID, t.Number, string(t.State), nullFloat(t.Value), t.Batch, t.Calls,
		t.Tokens, t.Cost, nullTime(t.Start), t.Duration.Seconds(), t.Err, t.Note, params, t.Billed,
		t.Split, t.Parent, t.Strategy, t.Step, program, data, t.Retries}, nil
}

func (w *trialWriter) start(ctx context.Context, t optimizer.Trial) error {
	args, err := w.trialArgs(&t)
	if err != nil {
		return w.errf(t.Number, err)
	}
	if _, err := w.exec(ctx, qInsertTrial, args...); err != nil {
		if isUnique(err) {
			return errorf(ErrExists, "study %q: trial %d exists", w.study, t.Number)
		}
		return w.errf(t.Number, err)
	}
	if err := w.params(ctx, t.Number, t.Params); err != nil {
		return w.errf(t.Number, err)
	}
	return nil
}

func (w *trialWriter) finish(ctx context.Context, r *TrialRecord) error {
	t := &r.Trial
	n := t.Number
	prev, err := w.state(ctx, n)
	if err != nil {
		return w.errf(n, err)
	}
	if prev != "" && prev != optimizer.Running {
		return errorf(ErrFinished, "study %q: trial %d is already %s", w.study, n, prev)
	}
	args, err := w.trialArgs(t)
	if err != nil {
		return w.errf(n, err)
	}
	if prev == "" {
		_, err = w.exec(ctx, qInsertTrial, args...)
	} else {
		_, err = w.exec(ctx, qUpdateTrial, args...)
		for _, q := range []string{qDeleteParams, qDeleteAgents, qDeleteExamples, qDeleteCalls} {
			if err == nil {
				_, err = w.exec(ctx, q, w.studyID, n)
			}
		}
	}
	if err != nil {
		return w.errf(n, err)
	}
	if err := w.params(ctx, n, t.Params); err != nil {
		return w.errf(n, err)
	}
	if w.states != nil {
		w.states[n] = t.State
	}
	for _, a := range r.Agents {
		_, err := w.exec(ctx, qInsertAgent, w.studyID, n, a.Agent, a.Role, a.Model,
			nullFloat(a.Accuracy), nullFloat(a.Round0Accuracy), a.Calls, a.Tokens, a.Cost,
			nullFloat(a.Agreement), nullFloat(a.Contribution), a.Unparsed)
		if isUnique(err) {
			return errorf(ErrInvalid, "study %q: trial %d: agent %q listed twice", w.study, n, a.Agent)
		}
		if err != nil {
			return w.errf(n, fmt.Errorf("agent %q: %w", a.Agent, err))
		}
	}
	for _, e := range r.Examples {
		_, err := w.exec(ctx, qInsertExample, w.studyID, n, e.Example, nullFloat(e.Score),
			e.Answer, e.Calls, e.Tokens, e.Cost)
		if isUnique(err) {
			return errorf(ErrInvalid, "study %q: trial %d: example %q listed twice", w.study, n, e.Example)
		}
		if err != nil {
			return w.errf(n, fmt.Errorf("example %q: %w", e.Example, err))
		}
	}
	for _, c := range r.Calls {
		msgs, err := json.Marshal(c.Messages)
		if err != nil {
			return w.errf(n, fmt.Errorf("call %d: messages: %w", c.Seq, err))
		}
		_, err = w.exec(ctx, qInsertCall, w.studyID, n, c.Seq, c.Example, c.Family, c.Difficulty, c.Agent,
			c.Role, c.Model, c.Round, c.Temperature, c.MaxTokens, string(msgs), c.Output, c.Answer, c.Parsed,
			nullFloat(c.Score), nullFloat(c.Confidence), c.PromptTokens, c.CompletionTokens,
			c.Latency.Seconds(), c.Retries, c.Cached)
		if isUnique(err) {
			return errorf(ErrInvalid, "study %q: trial %d: call %d listed twice", w.study, n, c.Seq)
		}
		if err != nil {
			return w.errf(n, fmt.Errorf("call %d: %w", c.Seq, err))
		}
	}
	return nil
}

// Calls returns the recorded agent calls of study studyID's trials, by
// trial number and then call order (TrialRecord.Calls); trials is
// parallel to calls and holds each call's trial number.
func (s *Store) Calls(ctx context.Context, studyID int64) (calls []Call, trials []int, err error) {
	calls, trials, err = s.calls(ctx, `study_id = ?`, studyID)
	if err != nil {
		return nil, nil, fmt.Errorf("store: study id %d: calls: %w", studyID, err)
	}
	return calls, trials, nil
}

// calls reads the calls rows matching where, by trial number and order.
func (s *Store) calls(ctx context.Context, where string, args ...any) (calls []Call, trials []int, err error) {
	rows, err := s.db.QueryContext(ctx, `SELECT number, seq, example, family, difficulty, agent, role, model,
		round, temperature, max_tokens, messages, output, answer, parsed, score, confidence, prompt_tokens,
		completion_tokens, latency_s, retries, cached FROM calls WHERE `+where+` ORDER BY number, seq`, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			c           Call
			n           int
			msgs        []byte
			score, conf sql.NullFloat64
			latency     float64
		)
		if err := rows.Scan(&n, &c.Seq, &c.Example, &c.Family, &c.Difficulty, &c.Agent, &c.Role, &c.Model,
			&c.Round, &c.Temperature, &c.MaxTokens, &msgs, &c.Output, &c.Answer, &c.Parsed, &score, &conf,
			&c.PromptTokens, &c.CompletionTokens, &latency, &c.Retries, &c.Cached); err != nil {
			return nil, nil, err
		}
		if err := json.Unmarshal(msgs, &c.Messages); err != nil {
			return nil, nil, fmt.Errorf("trial %d: call %d: messages: %w", n, c.Seq, err)
		}
		c.Score, c.Confidence = floatOrNaN(score), floatOrNaN(conf)
		c.Latency = time.Duration(math.Round(latency * 1e9))
		calls = append(calls, c)
		trials = append(trials, n)
	}
	return calls, trials, rows.Err()
}

// params writes the normalised rows of a trial's parameters, in one
// statement (one call into SQLite instead of one a row).
func (w *trialWriter) params(ctx context.Context, n int, a space.Assignment) error {
	if len(a) == 0 {
		return nil
	}
	args := make([]any, 0, 6*len(a))
	for name, v := range a {
		kind, text, num, err := paramValue(v)
		if err != nil {
			return fmt.Errorf("parameter %q: %w", name, err)
		}
		args = append(args, w.studyID, n, name, kind, text, num)
	}
	if _, err := w.exec(ctx, insertParams(len(a)), args...); err != nil {
		return fmt.Errorf("parameters: %w", err)
	}
	return nil
}

// insertParams is the statement inserting k rows into trial_params.
func insertParams(k int) string {
	return `INSERT INTO trial_params (study_id, number, name, kind, value, value_num) VALUES ` +
		strings.Repeat(`(?, ?, ?, ?, ?, ?), `, k-1) + `(?, ?, ?, ?, ?, ?)`
}

// paramValue returns a parameter's kind, text and numeric value (nil for
// a string or JSON value).
func paramValue(v any) (kind, text string, num any, err error) {
	switch x := v.(type) {
	case float64:
		return "float", strconv.FormatFloat(x, 'g', -1, 64), nullFloat(x), nil
	case int:
		return "int", strconv.Itoa(x), int64(x), nil
	case string:
		return "string", x, nil, nil
	case bool:
		if x {
			return "bool", "true", 1, nil
		}
		return "bool", "false", 0, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", "", nil, err
	}
	return "json", string(b), nil, nil
}

// paramsJSON is the JSON of a, "{}" for nil.
func paramsJSON(a space.Assignment) (string, error) {
	if a == nil {
		return "{}", nil
	}
	b, err := a.MarshalJSON()
	if err != nil {
		return "", fmt.Errorf("parameters: %w", err)
	}
	return string(b), nil
}

// studyName returns the name of study id, or ErrNotFound.
func (s *Store) studyName(ctx context.Context, id int64) (string, error) {
	var name string
	err := s.db.QueryRowContext(ctx, `SELECT name FROM studies WHERE id = ?`, id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errorf(ErrNotFound, "study id %d not found", id)
	}
	if err != nil {
		return "", fmt.Errorf("store: study id %d: %w", id, err)
	}
	return name, nil
}

const trialColumns = `number, state, value, batch, calls, tokens, cost_usd, started_at, duration_s,
	error, note, params, billed_cost_usd, split, parent, strategy, step, program, data, retries`

// Trials returns the trials of study studyID in number order, with their
// parameters decoded (ints as int, floats as float64, strings, bools).
func (s *Store) Trials(ctx context.Context, studyID int64) ([]optimizer.Trial, error) {
	name, err := s.studyName(ctx, studyID)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+trialColumns+` FROM trials WHERE study_id = ? ORDER BY number`, studyID)
	if err != nil {
		return nil, fmt.Errorf("store: study %q: trials: %w", name, err)
	}
	defer rows.Close()
	var out []optimizer.Trial
	for rows.Next() {
		t, err := scanTrial(rows)
		if err != nil {
			return nil, fmt.Errorf("store: study %q: trial %d: %w", name, t.Number, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: study %q: trials: %w", name, err)
	}
	return out, nil
}

// Trial returns trial number n of study studyID, or ErrNotFound.
func (s *Store) Trial(ctx context.Context, studyID int64, n int) (optimizer.Trial, error) {
	name, err := s.studyName(ctx, studyID)
	if err != nil {
		return optimizer.Trial{}, err
	}
	row := s.db.QueryRowContext(ctx, `SELECT `+trialColumns+` FROM trials WHERE study_id = ? AND number = ?`, studyID, n)
	t, err := scanTrial(row)
	if errors.Is(err, sql.ErrNoRows) {
		return optimizer.Trial{}, errorf(ErrNotFound, "study %q: trial %d not found", name, n)
	}
	if err != nil {
		return optimizer.Trial{}, fmt.Errorf("store: study %q: trial %d: %w", name, n, err)
	}
	return t, nil
}

func scanTrial(row interface{ Scan(...any) error }) (optimizer.Trial, error) {
	var (
		t       optimizer.Trial
		state   string
		value   sql.NullFloat64
		started sql.NullString
		parent  sql.NullInt64
		program sql.NullString
		data    sql.NullString
		dur     float64
		params  []byte
	)
	if err := row.Scan(&t.Number, &state, &value, &t.Batch, &t.Calls, &t.Tokens, &t.Cost,
		&started, &dur, &t.Err, &t.Note, &params, &t.Billed, &t.Split, &parent, &t.Strategy, &t.Step, &program, &data, &t.Retries); err != nil {
		return t, err
	}
	if program.Valid {
		if err := json.Unmarshal([]byte(program.String), &t.Agents); err != nil {
			return t, fmt.Errorf("program: %w", err)
		}
	}
	if data.Valid {
		t.Data = json.RawMessage(data.String)
	}
	if parent.Valid {
		p := int(parent.Int64)
		t.Parent = &p
	}
	t.State = optimizer.State(state)
	t.Value = floatOrNaN(value)
	t.Duration = time.Duration(math.Round(dur * 1e9))
	var err error
	if t.Start, err = parseTime(started); err != nil {
		return t, err
	}
	if t.Params, err = decodeParams(params); err != nil {
		return t, err
	}
	return t, nil
}

// Record returns trial number n of study studyID with its agent metrics
// (by agent id), example results (by example id) and recorded calls (in
// order).
func (s *Store) Record(ctx context.Context, studyID int64, n int) (TrialRecord, error) {
	t, err := s.Trial(ctx, studyID, n)
	if err != nil {
		return TrialRecord{}, err
	}
	r := TrialRecord{Trial: t}
	fail := func(err error) (TrialRecord, error) {
		return TrialRecord{}, fmt.Errorf("store: study id %d: trial %d: %w", studyID, n, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT agent, role, model, accuracy, round0_accuracy, calls,
		tokens, cost_usd, agreement, contribution, unparsed FROM agent_metrics
		WHERE study_id = ? AND number = ? ORDER BY agent`, studyID, n)
	if err != nil {
		return fail(err)
	}
	for rows.Next() {
		var a AgentMetric
		var acc, acc0, agree, contrib sql.NullFloat64
		if err := rows.Scan(&a.Agent, &a.Role, &a.Model, &acc, &acc0, &a.Calls, &a.Tokens, &a.Cost, &agree, &contrib, &a.Unparsed); err != nil {
			rows.Close()
			return fail(err)
		}
		a.Accuracy, a.Round0Accuracy = floatOrNaN(acc), floatOrNaN(acc0)
		a.Agreement, a.Contribution = floatOrNaN(agree), floatOrNaN(contrib)
		r.Agents = append(r.Agents, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	rows, err = s.db.QueryContext(ctx, `SELECT example, score, answer, calls, tokens, cost_usd
		FROM example_results WHERE study_id = ? AND number = ? ORDER BY example`, studyID, n)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	for rows.Next() {
		var e ExampleResult
		var score sql.NullFloat64
		if err := rows.Scan(&e.Example, &score, &e.Answer, &e.Calls, &e.Tokens, &e.Cost); err != nil {
			return fail(err)
		}
		e.Score = floatOrNaN(score)
		r.Examples = append(r.Examples, e)
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	if r.Calls, _, err = s.calls(ctx, `study_id = ? AND number = ?`, studyID, n); err != nil {
		return fail(err)
	}
	return r, nil
}

// DeleteUnfinished deletes the running trials of study studyID (left by a
// killed run, before it resumes) and returns how many there were.
func (s *Store) DeleteUnfinished(ctx context.Context, studyID int64) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		w, err := newTrialWriter(ctx, tx, studyID)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM trials WHERE study_id = ? AND state = 'running'`, studyID)
		if err != nil {
			return fmt.Errorf("store: study %q: delete unfinished trials: %w", w.study, err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// TrialOutcomes returns a study's trials in number order with only what
// comparisons and plots read: number, state, value, batch, calls, tokens,
// nominal cost, split, strategy and step, and the parameters of the
// trials that compete for the best (complete validation trials); the
// other fields are left zero. It skips decoding programs, the optimizer's
// data and per-agent materials, which dominate Trials on a large store.
func (s *Store) TrialOutcomes(ctx context.Context, studyID int64) ([]optimizer.Trial, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT number, state, value, batch, calls, tokens, cost_usd, split, strategy, step,
		CASE WHEN state = 'complete' AND split IN ('val', '') THEN params END
		FROM trials WHERE study_id = ? ORDER BY number`, studyID)
	if err != nil {
		return nil, fmt.Errorf("store: study id %d: trials: %w", studyID, err)
	}
	defer rows.Close()
	var out []optimizer.Trial
	for rows.Next() {
		var t optimizer.Trial
		var state string
		var value sql.NullFloat64
		var params []byte
		if err := rows.Scan(&t.Number, &state, &value, &t.Batch, &t.Calls, &t.Tokens, &t.Cost, &t.Split, &t.Strategy, &t.Step, &params); err != nil {
			return nil, fmt.Errorf("store: study id %d: trials: %w", studyID, err)
		}
		t.State, t.Value = optimizer.State(state), floatOrNaN(value)
		if params != nil {
			if err := t.Params.UnmarshalJSON(params); err != nil {
				return nil, fmt.Errorf("store: study id %d: trial %d: parameters: %w", studyID, t.Number, err)
			}
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
