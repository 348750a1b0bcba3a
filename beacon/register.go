package beacon

import "github.com/mabeam/mabeam/optimizer"

func init() {
	optimizer.RegisterSampler("beacon", Sampler{})
	optimizer.Register("beacon", func(settings map[string]any) (optimizer.Optimizer, error) {
		var s Settings
		if err := optimizer.DecodeSettings(settings, &s); err != nil {
			return nil, err
		}
		if _, err := s.Sampler.settings(0); err != nil {
			return nil, err
		}
		if _, err := s.resolved(0); err != nil {
			return nil, err
		}
		return &Compiler{Settings: s}, nil
	})
}
