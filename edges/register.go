package edges

import "github.com/mabeam/mabeam/optimizer"

func init() {
	for _, name := range []string{GPTSwarm, AgentPrune} {
		optimizer.Register(name, func(settings map[string]any) (optimizer.Optimizer, error) {
			o := &Optimizer{Method: name}
			if err := optimizer.DecodeSettings(settings, &o.Settings); err != nil {
				return nil, err
			}
			if _, err := o.resolved(); err != nil {
				return nil, err
			}
			return o, nil
		})
	}
}
