package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mabeam/mabeam/lm"
)

var _ lm.Cache = (*Store)(nil)

// CacheStats describes the LM response cache.
type CacheStats struct {
	Entries int64 // responses stored, by every run that used the file
	// Hits and Misses count this Store's Get calls since Open.
	Hits, Misses int64
	// SavedCost is what the calls answered by hits cost when first made,
	// in US dollars, since Open.
	SavedCost float64
}

// Get implements lm.Cache: it returns the response stored under key (from
// lm.Key), marked Cached, with the call's nominal Cost and zero Latency.
func (s *Store) Get(ctx context.Context, key string) (lm.Response, bool, error) {
	var r lm.Response
	err := s.db.QueryRowContext(ctx, `SELECT response, prompt_tokens, completion_tokens, cost_usd
		FROM lm_cache WHERE key = ?`, key).Scan(&r.Text, &r.Usage.PromptTokens, &r.Usage.CompletionTokens, &r.Cost)
	cost := r.Cost
	hit := err == nil
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	if err != nil {
		return lm.Response{}, false, fmt.Errorf("store: cache get %.12s: %w", key, err)
	}
	s.statsMu.Lock()
	if hit {
		s.stats.Hits++
		s.stats.SavedCost += cost
	} else {
		s.stats.Misses++
	}
	s.statsMu.Unlock()
	if !hit {
		return lm.Response{}, false, nil
	}
	r.Cached = true
	return r, true, nil
}

// Put implements lm.Cache: it stores resp under key, with the request's
// model and the call's original cost. A key already stored keeps its first
// response.
func (s *Store) Put(ctx context.Context, key string, req lm.Request, resp lm.Response) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO lm_cache (key, model, response, prompt_tokens,
			completion_tokens, cost_usd, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (key) DO NOTHING`,
			key, req.Model, resp.Text, resp.Usage.PromptTokens, resp.Usage.CompletionTokens,
			resp.Cost, formatTime(time.Now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: cache put %.12s (model %s): %w", key, req.Model, err)
	}
	return nil
}

// CacheStats returns the cache's size and this Store's hit counts.
func (s *Store) CacheStats(ctx context.Context) (CacheStats, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM lm_cache`).Scan(&n); err != nil {
		return CacheStats{}, fmt.Errorf("store: cache stats: %w", err)
	}
	s.statsMu.Lock()
	st := s.stats
	s.statsMu.Unlock()
	st.Entries = n
	return st, nil
}
