package openai_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mabeam/mabeam/internal/openaitest"
	"github.com/mabeam/mabeam/lm"
	"github.com/mabeam/mabeam/lm/openai"
)

// BenchmarkConcurrency64 makes 2,000 calls from 64 goroutines at
// Concurrency 64 to a server that takes 50 ms a request. Ideally they take
// 2000/64 × 50 ms = 1.5625 s; "ratio" is the wall time over that.
func BenchmarkConcurrency64(b *testing.B) {
	const (
		calls   = 2000
		workers = 64
		latency = 50 * time.Millisecond
	)
	fast := lm.ModelFunc(func(ctx context.Context, r lm.Request) (lm.Response, error) {
		return lm.Response{Text: "Answer: 42", Usage: lm.Usage{PromptTokens: 10, CompletionTokens: 3}}, nil
	})
	srv := server(b, openaitest.Options{Backend: fast, Latency: latency})
	c, err := openai.New(&openai.Options{BaseURL: srv.URL(), Concurrency: workers})
	if err != nil {
		b.Fatal(err)
	}
	req := ask("m")
	ideal := float64(calls) / workers * latency.Seconds()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for next.Add(1) <= calls {
					if _, err := c.Generate(context.Background(), req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	wall := time.Since(start).Seconds() / float64(b.N)
	b.ReportMetric(wall, "s/2000calls")
	b.ReportMetric(wall/ideal, "ratio")
}
