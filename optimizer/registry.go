package optimizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
)

// Factory builds an optimizer from its settings (as decoded from a config;
// nil means defaults). It must reject unknown settings.
type Factory func(settings map[string]any) (Optimizer, error)

var (
	regMu     sync.RWMutex // protects factories
	factories = map[string]Factory{}
)

// Register makes an optimizer available by name. It panics if the name is
// taken or f is nil, as database/sql's Register does.
func Register(name string, f Factory) {
	regMu.Lock()
	defer regMu.Unlock()
	if f == nil {
		panic("optimizer: Register factory is nil for " + name)
	}
	if _, dup := factories[name]; dup {
		panic("optimizer: Register called twice for " + name)
	}
	factories[name] = f
}

// New builds the optimizer registered as name.
func New(name string, settings map[string]any) (Optimizer, error) {
	regMu.RLock()
	f, ok := factories[name]
	regMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("optimizer: unknown optimizer %q (known: %v)", name, Names())
	}
	o, err := f(settings)
	if err != nil {
		return nil, fmt.Errorf("optimizer %q: %w", name, err)
	}
	return o, nil
}

// Names lists the registered optimizers in sorted order.
func Names() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]string, 0, len(factories))
	for n := range factories {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// DecodeSettings fills dst (a pointer to a settings struct with json tags)
// from settings, rejecting unknown keys and wrong types with an error that
// names the key. Factories use it.
func DecodeSettings(settings map[string]any, dst any) error {
	if len(settings) == 0 {
		return nil
	}
	b, err := json.Marshal(settings)
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	return nil
}

// RandomSettings are the random-search baseline's settings; it has none
// yet, so any key is an error.
type RandomSettings struct{}

func init() {
	Register("random", func(settings map[string]any) (Optimizer, error) {
		var s RandomSettings
		if err := DecodeSettings(settings, &s); err != nil {
			return nil, err
		}
		return &Search{Sampler: Random{}, Note: "random"}, nil
	})
}

var (
	smpMu    sync.RWMutex // protects samplers
	samplers = map[string]Sampler{"random": Random{}}
)

// RegisterSampler makes a black-box sampler available by name (for
// `experiment ask --sampler NAME`). It panics if the name is taken.
func RegisterSampler(name string, s Sampler) {
	smpMu.Lock()
	defer smpMu.Unlock()
	if _, dup := samplers[name]; dup || s == nil {
		panic("optimizer: RegisterSampler called twice or with nil for " + name)
	}
	samplers[name] = s
}

// LookupSampler returns the sampler registered as name.
func LookupSampler(name string) (Sampler, error) {
	smpMu.RLock()
	s, ok := samplers[name]
	smpMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("optimizer: unknown sampler %q (known: %v)", name, SamplerNames())
	}
	return s, nil
}

// A ConfigurableSampler takes settings (as decoded from JSON; unknown keys
// are errors), as beacon's sampler does.
type ConfigurableSampler interface {
	Sampler
	Configure(settings map[string]any) (Sampler, error)
}

// SamplerWith returns the sampler registered as name with settings
// applied; a sampler that takes none refuses any.
func SamplerWith(name string, settings map[string]any) (Sampler, error) {
	s, err := LookupSampler(name)
	if err != nil || len(settings) == 0 {
		return s, err
	}
	cs, ok := s.(ConfigurableSampler)
	if !ok {
		return nil, fmt.Errorf("optimizer: sampler %q takes no settings", name)
	}
	c, err := cs.Configure(settings)
	if err != nil {
		return nil, fmt.Errorf("optimizer: sampler %q: %w", name, err)
	}
	return c, nil
}

// SamplerNames lists the registered samplers in sorted order.
func SamplerNames() []string {
	smpMu.RLock()
	defer smpMu.RUnlock()
	out := make([]string, 0, len(samplers))
	for n := range samplers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
