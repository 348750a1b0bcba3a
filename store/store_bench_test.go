package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// benchRecords returns trials from..from+n-1 with six parameters each and
// no agent or example rows.
func benchRecords(from, n int) []TrialRecord {
	recs := make([]TrialRecord, n)
	for i := range recs {
		r := record(from+i, 0)
		r.Agents = nil
		recs[i] = r
	}
	return recs
}

// benchStudy opens a file store in a temporary directory, closed when the
// benchmark ends, with one empty study.
func benchStudy(b *testing.B) (*Store, Study) {
	b.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	st, err := s.CreateStudy(ctx, Study{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	return s, st
}

// BenchmarkStoreInsert measures InsertTrials on a file database, in batches
// of 1,000 trials with six parameters each; the figure is trials/s.
func BenchmarkStoreInsert(b *testing.B) {
	ctx := context.Background()
	s, st := benchStudy(b)
	const batch = 1000
	b.ResetTimer()
	var elapsed time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		recs := benchRecords(i*batch, batch)
		b.StartTimer()
		t0 := time.Now()
		if err := s.InsertTrials(ctx, st.ID, recs); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(t0)
	}
	b.ReportMetric(float64(b.N*batch)/elapsed.Seconds(), "trials/s")
}

// BenchmarkStoreReadTrials measures Trials on a study of 100,000 trials
// with six parameters each; the figure is seconds per read of all of them.
func BenchmarkStoreReadTrials(b *testing.B) {
	ctx := context.Background()
	s, st := benchStudy(b)
	const total, batch = 100_000, 5_000
	for i := 0; i < total; i += batch {
		if err := s.InsertTrials(ctx, st.ID, benchRecords(i, batch)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		trials, err := s.Trials(ctx, st.ID)
		if err != nil {
			b.Fatal(err)
		}
		if len(trials) != total || len(trials[total-1].Params) != 6 {
			b.Fatalf("read %d trials", len(trials))
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/100k")
}

// BenchmarkFinishTrial measures one transaction per trial, as a run
// commits them: six parameters, three agents and 32 examples each.
func BenchmarkFinishTrial(b *testing.B) {
	ctx := context.Background()
	s, st := benchStudy(b)
	for n := 0; b.Loop(); n++ {
		if err := s.FinishTrial(ctx, st.ID, record(n, 32)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "trials/s")
}
