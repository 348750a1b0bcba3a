package openai

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/mabeam/mabeam/lm"
)

// attempt is one attempt's HTTP exchange, as the doer saw it.
type attempt struct {
	zeroTemp bool        // put "temperature": 0 into the body
	sent     bool        // the request went to the HTTP client
	status   int         // the reply's status; 0 if none came
	header   http.Header // the reply's header
}

type attemptKey struct{}

// doer sits between go-openai and the HTTP client: it counts the requests,
// records the status and header that go-openai's errors leave out, and
// puts back the zero temperature that go-openai leaves out.
type doer struct {
	hc   *http.Client
	sent *atomic.Int64
}

func (d *doer) Do(r *http.Request) (*http.Response, error) {
	a, _ := r.Context().Value(attemptKey{}).(*attempt)
	if a != nil && a.zeroTemp {
		if err := putZeroTemperature(r); err != nil {
			return nil, err
		}
	}
	if a != nil {
		a.sent = true
	}
	d.sent.Add(1)
	resp, err := d.hc.Do(r)
	if a != nil && resp != nil {
		a.status, a.header = resp.StatusCode, resp.Header
	}
	return resp, err
}

// putZeroTemperature adds "temperature": 0 to a JSON object body that has
// no temperature (go-openai's omitempty drops a zero).
func putZeroTemperature(r *http.Request) error {
	if r.GetBody == nil {
		return errors.New("openai: request body cannot be read")
	}
	rc, err := r.GetBody()
	if err != nil {
		return err
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return err
	}
	if len(b) == 0 || b[0] != '{' {
		return errors.New("openai: request body is not a JSON object")
	}
	nb := append(make([]byte, 0, len(b)+18), `{"temperature":0`...)
	if rest := bytes.TrimSpace(b[1:]); len(rest) > 0 && rest[0] != '}' {
		nb = append(nb, ',')
	}
	nb = append(nb, b[1:]...)
	r.Body = io.NopCloser(bytes.NewReader(nb))
	r.ContentLength = int64(len(nb))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(nb)), nil }
	return nil
}

// send makes one attempt. A failed attempt returns an *lm.Error, or ctx's
// error when ctx ended.
func (c *Client) send(ctx context.Context, creq *goopenai.ChatCompletionRequest, team string) (goopenai.ChatCompletionResponse, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	a := &attempt{zeroTemp: creq.Temperature == 0}
	reply, err := c.api.CreateChatCompletion(context.WithValue(actx, attemptKey{}, a), *creq)
	fail := func(kind error, counter *atomic.Int64, format string, args ...any) error {
		if counter != nil {
			counter.Add(1)
		}
		return &lm.Error{Kind: kind, Model: team, Err: fmt.Errorf(format, args...)}
	}
	switch {
	case err == nil && len(reply.Choices) > 0:
		return reply, nil
	case ctx.Err() != nil:
		return reply, ctx.Err()
	case errors.Is(actx.Err(), context.DeadlineExceeded):
		return reply, fail(lm.ErrTimeout, &c.stats.timeouts, "no reply from the server at %s within %v", c.base, c.timeout)
	case err == nil:
		return reply, fail(lm.ErrServer, &c.stats.unreadable, "unreadable reply from the server at %s: no choices", c.base)
	case a.status != 0 && (a.status < 200 || a.status >= 400):
		return reply, c.statusError(a, err, creq.Model, team)
	case !a.sent:
		return reply, fail(lm.ErrBadRequest, nil, "go-openai refused the request: %w", err)
	case a.status == 0:
		return reply, fail(lm.ErrServer, &c.stats.serverErrors, "no reply from the server at %s: %w", c.base, err)
	default:
		return reply, fail(lm.ErrServer, &c.stats.unreadable, "unreadable reply from the server at %s: %w", c.base, err)
	}
}

// statusError is the error of a reply with a failure status.
func (c *Client) statusError(a *attempt, err error, model, team string) error {
	msg := c.serverMessage(a.status, err)
	e := &lm.Error{Model: team}
	switch s := a.status; {
	case s == http.StatusTooManyRequests:
		c.stats.rateLimited.Add(1)
		e.Kind, e.RetryAfter = lm.ErrRateLimited, retryAfter(a.header, time.Now())
		e.Err = fmt.Errorf("the server at %s is rate limiting (HTTP 429): %s", c.base, msg)
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		sent := ""
		if c.key == "" {
			sent = ", none was sent"
		}
		e.Kind = lm.ErrAuth
		e.Err = fmt.Errorf("the server at %s refused the API key; check the environment variable named by lm.api_key_env (HTTP %d%s: %s)", c.base, s, sent, msg)
	case s == http.StatusNotFound:
		e.Kind = lm.ErrUnknownModel
		e.Err = fmt.Errorf("the server at %s has no model %s (team name %s); check lm.models, or lm.base_url if no model is found (HTTP 404: %s)", c.base, model, team, msg)
	case s == http.StatusRequestTimeout:
		c.stats.timeouts.Add(1)
		e.Kind = lm.ErrTimeout
		e.Err = fmt.Errorf("the server at %s timed out (HTTP 408): %s", c.base, msg)
	case s >= 500:
		c.stats.serverErrors.Add(1)
		e.Kind, e.RetryAfter = lm.ErrServer, retryAfter(a.header, time.Now())
		e.Err = fmt.Errorf("the server at %s failed (HTTP %d): %s", c.base, s, msg)
	default:
		e.Kind = lm.ErrBadRequest
		e.Err = fmt.Errorf("the server at %s rejected the request (HTTP %d): %s", c.base, s, msg)
	}
	return e
}

// serverMessage is the message of an error reply, without the API key.
func (c *Client) serverMessage(status int, err error) string {
	var (
		apiErr *goopenai.APIError
		reqErr *goopenai.RequestError
		msg    string
	)
	switch {
	case errors.As(err, &apiErr):
		msg = apiErr.Message
	case errors.As(err, &reqErr):
		msg = strings.TrimSpace(string(reqErr.Body))
	}
	if c.key != "" {
		msg = strings.ReplaceAll(msg, string(c.key), "[redacted]")
	}
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return msg
}

// retryAfter is the wait a reply's header asks for: retry-after-ms, else
// Retry-After in seconds or as an HTTP date; 0 if none.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && ms < 1e12 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s > 0 && s < 1e9 {
			return time.Duration(s * float64(time.Second))
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
