package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// Limiter is a rate limit that the processes of a run share: two token
// buckets, of requests and of tokens per minute, whose state lives under
// one key of a Shared bucket, so that every Limiter on the same bucket
// and key, in any process, draws on one allowance. Its Wait has the
// method set of openai.Limiter, so it can be a client's Options.Limiter.
//
// Each bucket holds one second's worth (at least 1), as the openai
// client's local buckets do, and starts full. A Wait takes one request
// and its tokens at once, in one Update, leaving a bucket negative if it
// held less, and then sleeps until the bucket would be back at zero: a
// reservation, like golang.org/x/time/rate's, so requests are admitted in
// the order they asked, and a request larger than the token bucket (which
// the local limiter takes in parts) waits exactly as long as the parts
// would. A Wait whose context ends while it sleeps keeps what it took:
// the run stays under its limits at the cost of a little allowance.
//
// The state's time is the clock of the process that wrote it, so the
// machines' clocks must be roughly in sync (NTP). The time never goes
// back: a process whose clock is behind the state's refills nothing until
// its clock catches up, so a clock's skew never adds allowance over a
// run; it only shifts when requests go, by up to the skew between
// machines. Every Limiter on a key should have the same rates.
type Limiter struct {
	s          *Shared
	key        string
	reqs, toks tokenBucket
}

// tokenBucket is one dimension of a Limiter.
type tokenBucket struct {
	rate  float64 // per second; 0: no limit
	burst float64 // capacity
}

func newTokenBucket(perMinute float64) tokenBucket {
	return tokenBucket{rate: perMinute / 60, burst: float64(max(1, int(perMinute/60)))}
}

// refill is what a bucket holding have holds after elapsed seconds.
func (b tokenBucket) refill(have, elapsed float64) float64 {
	return min(b.burst, have+elapsed*b.rate)
}

// owed is how long a bucket holding have takes to be back at zero.
func (b tokenBucket) owed(have float64) time.Duration {
	if b.rate == 0 || have >= 0 {
		return 0
	}
	return time.Duration(math.Ceil(-have / b.rate * float64(time.Second)))
}

// limiterState is a Limiter's state as stored under its key, in JSON.
type limiterState struct {
	Requests float64   `json:"requests"` // available; negative: owed by admitted requests
	Tokens   float64   `json:"tokens"`
	Time     time.Time `json:"time"` // when Requests and Tokens were counted
}

// NewLimiter returns a Limiter on key of s, of requestsPerMinute and
// tokensPerMinute; a rate of 0 means no limit, and a Limiter with neither
// never touches the bucket.
func NewLimiter(s *Shared, key string, requestsPerMinute, tokensPerMinute float64) (*Limiter, error) {
	if s == nil {
		return nil, errors.New("cluster: NewLimiter: nil Shared")
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"requestsPerMinute", requestsPerMinute}, {"tokensPerMinute", tokensPerMinute}} {
		if !(r.v >= 0) || math.IsInf(r.v, 0) {
			return nil, fmt.Errorf("cluster: limiter %s: %s %g is not a finite rate >= 0", key, r.name, r.v)
		}
	}
	return &Limiter{s: s, key: key, reqs: newTokenBucket(requestsPerMinute), toks: newTokenBucket(tokensPerMinute)}, nil
}

// Wait blocks until one request of this many tokens may be sent under the
// limits. It returns ctx's error if ctx ends first, at once an error if
// the wait would outlast ctx's deadline (taking nothing), and Update's
// error, such as ErrUnavailable, if the bucket cannot be reached.
func (l *Limiter) Wait(ctx context.Context, tokens int) error {
	if l.reqs.rate == 0 && l.toks.rate == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var wait time.Duration
	var late error
	_, err := l.s.Update(ctx, l.key, func(old []byte, exists bool) ([]byte, error) {
		now := time.Now()
		st := limiterState{Requests: l.reqs.burst, Tokens: l.toks.burst, Time: now}
		if exists {
			if err := json.Unmarshal(old, &st); err != nil {
				return nil, fmt.Errorf("cluster: limiter %s: state %q: %w", l.key, old, err)
			}
			if elapsed := now.Sub(st.Time); elapsed > 0 {
				st.Requests = l.reqs.refill(st.Requests, elapsed.Seconds())
				st.Tokens = l.toks.refill(st.Tokens, elapsed.Seconds())
				st.Time = now
			}
		}
		if l.reqs.rate > 0 {
			st.Requests--
		}
		if l.toks.rate > 0 {
			st.Tokens -= float64(tokens)
		}
		wait = max(l.reqs.owed(st.Requests), l.toks.owed(st.Tokens))
		late = nil
		if dl, ok := ctx.Deadline(); ok && wait > 0 && now.Add(wait).After(dl) {
			late = fmt.Errorf("cluster: limiter %s: a request of %d tokens would wait %v, past the context's deadline",
				l.key, tokens, wait.Round(time.Millisecond))
			return nil, SkipUpdate
		}
		return json.Marshal(st)
	})
	switch {
	case err != nil:
		return err
	case late != nil:
		return late
	case wait == 0:
		return nil
	}
	if !sleep(ctx, wait) {
		return ctx.Err()
	}
	return nil
}
