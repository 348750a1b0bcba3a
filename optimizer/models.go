package optimizer

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/space"
	"github.com/mabeam/mabeam/team"
)

// ModelChecker is an Evaluator that can tell, before any trial, whether its
// model serves every model name its candidates can give an agent. Ready
// calls it, so that a misspelt name fails the study at once instead of
// failing trial after trial. TeamEvaluator implements it.
type ModelChecker interface {
	CheckModels() error
}

var _ ModelChecker = (*TeamEvaluator)(nil)

// UnknownModelError is a model name that a team space can give an agent
// and the evaluator's model does not serve. It matches lm.ErrUnknownModel
// (errors.Is).
type UnknownModelError struct {
	Agent string // the agent's id
	Model string // the name
	// Default reports that the name is the agent's default model
	// (Materials.Defaults.Model, else team.DefaultModel), which the agent
	// runs on when it has no model variable or its model variable is
	// inactive.
	Default bool
	Known   []string // the names the model serves, sorted
}

func (e *UnknownModelError) Error() string {
	what := "model"
	if e.Default {
		what = "default model"
	}
	return fmt.Sprintf("optimizer: agent %q: unknown %s %q (known: %s)", e.Agent, what, e.Model, strings.Join(e.Known, ", "))
}

// Is reports whether target is lm.ErrUnknownModel.
func (e *UnknownModelError) Is(target error) bool { return target == lm.ErrUnknownModel }

// CheckModels implements ModelChecker: when e.Model can tell which names
// it serves (lm.Lister, as lm/sim's model and lm.Cached in front of it
// are), it returns an *UnknownModelError for every model name of the space
// it does not serve, joined in team order; otherwise nil. An agent's names
// are its model variable's (its components or choices, or its fixed
// value) and, when it has none or one with a condition, its default model.
// A composite model variable's values cannot be listed and are not checked.
func (e *TeamEvaluator) CheckModels() error {
	l, ok := e.Model.(lm.Lister)
	if !ok || e.Space == nil {
		return nil
	}
	known := l.Names()
	def := team.DefaultModel
	if e.Materials != nil && e.Materials.Defaults.Model != "" {
		def = e.Materials.Defaults.Model
	}
	var errs []error
	for _, ag := range e.Space.Team().Agents {
		names, usesDefault := agentModels(ag)
		if usesDefault && !slices.Contains(known, def) {
			errs = append(errs, &UnknownModelError{Agent: ag.ID, Model: def, Default: true, Known: known})
		}
		for _, n := range names {
			if !slices.Contains(known, n) {
				errs = append(errs, &UnknownModelError{Agent: ag.ID, Model: n, Known: known})
			}
		}
	}
	return errors.Join(errs...)
}

// agentModels returns the model names ag's model variable can take, and
// whether the agent can run on its default model instead.
func agentModels(ag space.Agent) (names []string, usesDefault bool) {
	i := slices.IndexFunc(ag.Vars, func(v space.Var) bool { return v.Name == space.LocalModel })
	if i < 0 {
		return nil, true
	}
	v := ag.Vars[i]
	switch {
	case v.Fixed != nil:
		if s, ok := v.Fixed.(string); ok {
			names = []string{s}
		}
	case v.Kind == space.KindComponent:
		for _, c := range v.Components {
			names = append(names, c.Name)
		}
	case v.Kind == space.KindChoice:
		names = v.Choices
	}
	return names, v.Conditional()
}

// CheckModelName reports an optimizer setting's model name (what names
// it, e.g. "simba: advice_model") that m does not serve, when m can tell
// (lm.Lister); nil for an empty name or a model that cannot list its names.
// An optimizer's Check calls it for the models of its own calls.
func CheckModelName(m lm.Model, name, what string) error {
	l, ok := m.(lm.Lister)
	if name == "" || !ok {
		return nil
	}
	known := l.Names()
	if slices.Contains(known, name) {
		return nil
	}
	return fmt.Errorf("%s: unknown model %q (known: %s): %w", what, name, strings.Join(known, ", "), lm.ErrUnknownModel)
}
