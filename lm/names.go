package lm

// Lister is implemented by models that know every model name they serve
// (lm/sim: its profiles), so that a caller can refuse a name before any
// call. A backend that passes names on to a server which may take any
// (lm/openai) does not implement it.
type Lister interface {
	// Names returns the model names served, sorted.
	Names() []string
}
