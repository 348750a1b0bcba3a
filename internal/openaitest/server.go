package openaitest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/mabeam/mabeam/lm"
)

// Options configures a Server. Only Backend is required.
type Options struct {
	// Key is the API key a request must carry as "Authorization: Bearer
	// <key>"; a wrong or missing key gets 401, whose message echoes the key
	// received, as a careless server might (so that clients' redaction can
	// be tested). Empty: no check.
	Key string
	// Backend answers the requests. New panics if it is nil.
	Backend lm.Model
	// Models are the model names served; a request for another gets 404
	// model_not_found. Empty: any name the backend accepts, its
	// lm.ErrUnknownModel becoming the 404.
	Models []string
	// Latency is added to every request before it is answered; 0 is none.
	Latency time.Duration

	// Fault rates, each in [0, 1] and summing to at most 1: one fault (or
	// none) is drawn per well-formed request for a served model. 0 is never.
	Rate429       float64 // 429, with RetryAfter
	Rate500       float64 // 500
	RateMalformed float64 // 200 with a body that is not JSON
	RateTruncated float64 // 200 with the JSON body cut half-way
	RateSlow      float64 // 200: headers and half the body, a stall of SlowFor, the rest
	// RateWrong is the rate at which a choice's "Answer:" line is replaced
	// by a wrong answer, drawn for each choice apart from the faults.
	RateWrong float64
	// SlowFor is the stall of a slow reply; 0 means 1 s.
	SlowFor time.Duration
	// RetryAfter is sent with 429s, as Retry-After in whole seconds
	// (rounded up) and as retry-after-ms; 0 sends neither.
	RetryAfter time.Duration
	// NoN makes the server ignore n: every reply has one choice.
	NoN bool
	// Seed seeds the faults' source. Answers never depend on it.
	Seed uint64
}

// Counts are the requests a Server received, by outcome.
type Counts struct {
	Requests     int64 // every request received
	OK           int64 // well-formed 200s sent at once (wrong answers included)
	RateLimited  int64 // 429s
	ServerErrors int64 // 500s
	Malformed    int64 // 200s with a body that is not JSON
	Truncated    int64 // 200s with a body cut half-way
	Slow         int64 // 200s that stalled (finished or not)
	Wrong        int64 // choices sent whole whose answer was made wrong
	Unauthorized int64 // 401s
	NotFound     int64 // 404s
	BadRequest   int64 // 400s
}

// Server is an OpenAI-compatible chat completions server on loopback.
type Server struct {
	opts   Options
	models map[string]bool
	srv    *httptest.Server
	done   chan struct{} // closed by Close: ends latencies and stalls
	close  sync.Once

	mu  sync.Mutex // protects rng
	rng *rand.Rand

	requests, ok, rateLimited, serverErrors, malformed, truncated atomic.Int64
	slow, wrong, unauthorized, notFound, badRequest               atomic.Int64
	inFlight, maxInFlight, conns                                  atomic.Int64
}

// New starts a server. It panics on a nil Backend or fault rates outside
// [0, 1] or summing past 1.
func New(opts Options) *Server {
	if opts.Backend == nil {
		panic("openaitest: nil Backend")
	}
	sum := 0.0
	for _, r := range []float64{opts.Rate429, opts.Rate500, opts.RateMalformed, opts.RateTruncated, opts.RateSlow} {
		if r < 0 || r > 1 {
			panic(fmt.Sprintf("openaitest: fault rate %g outside [0, 1]", r))
		}
		sum += r
	}
	if sum > 1+1e-9 || opts.RateWrong < 0 || opts.RateWrong > 1 {
		panic("openaitest: fault rates sum past 1 or RateWrong outside [0, 1]")
	}
	if opts.SlowFor == 0 {
		opts.SlowFor = time.Second
	}
	s := &Server{
		opts:   opts,
		models: map[string]bool{},
		done:   make(chan struct{}),
		rng:    rand.New(rand.NewPCG(opts.Seed, 0x6f70656e61697465)),
	}
	for _, m := range opts.Models {
		s.models[m] = true
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.srv.Start()
	return s
}

// URL is the base URL of the API, ending in /v1.
func (s *Server) URL() string { return s.srv.URL + "/v1" }

// Close ends the stalls and latencies in progress and shuts the server
// down. It may be called more than once.
func (s *Server) Close() {
	s.close.Do(func() {
		close(s.done)
		s.srv.Close()
	})
}

// Requests is the number of requests received.
func (s *Server) Requests() int64 { return s.requests.Load() }

// MaxInFlight is the largest number of requests handled at once.
func (s *Server) MaxInFlight() int64 { return s.maxInFlight.Load() }

// Conns is the number of connections clients opened.
func (s *Server) Conns() int64 { return s.conns.Load() }

// Counts returns the requests received by outcome.
func (s *Server) Counts() Counts {
	return Counts{
		Requests: s.requests.Load(), OK: s.ok.Load(), RateLimited: s.rateLimited.Load(),
		ServerErrors: s.serverErrors.Load(), Malformed: s.malformed.Load(), Truncated: s.truncated.Load(),
		Slow: s.slow.Load(), Wrong: s.wrong.Load(), Unauthorized: s.unauthorized.Load(),
		NotFound: s.notFound.Load(), BadRequest: s.badRequest.Load(),
	}
}

type fault int

const (
	none fault = iota
	fault429
	fault500
	faultMalformed
	faultTruncated
	faultSlow
)

// chatRequest is the part of a chat completion request the server reads.
type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	Temperature         *float64 `json:"temperature"`
	MaxTokens           int      `json:"max_tokens"`
	MaxCompletionTokens int      `json:"max_completion_tokens"`
	N                   int      `json:"n"`
	Seed                *int     `json:"seed"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for m := s.maxInFlight.Load(); n > m && !s.maxInFlight.CompareAndSwap(m, n); m = s.maxInFlight.Load() {
	}
	if !s.sleep(r.Context(), s.opts.Latency) {
		return
	}

	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		s.notFound.Add(1)
		writeError(w, http.StatusNotFound, "invalid_request_error", "unknown_url", "Unknown request URL: "+r.Method+" "+r.URL.Path)
		return
	}
	if got := r.Header.Get("Authorization"); s.opts.Key != "" && got != "Bearer "+s.opts.Key {
		s.unauthorized.Add(1)
		writeError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key",
			"Incorrect API key provided: "+strings.TrimPrefix(got, "Bearer "))
		return
	}
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.badRequest.Add(1)
		writeError(w, http.StatusBadRequest, "invalid_request_error", nil, "invalid body: "+err.Error())
		return
	}
	if len(s.models) > 0 && !s.models[req.Model] {
		s.modelNotFound(w, req.Model)
		return
	}

	choices := max(req.N, 1)
	if s.opts.NoN {
		choices = 1
	}
	f, wrong := s.draw(choices)
	switch f {
	case fault429:
		s.rateLimited.Add(1)
		if d := s.opts.RetryAfter; d > 0 {
			w.Header().Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
			w.Header().Set("Retry-After-Ms", strconv.FormatInt(d.Milliseconds(), 10))
		}
		writeError(w, http.StatusTooManyRequests, "requests", "rate_limit_exceeded", "Rate limit reached; try again later.")
		return
	case fault500:
		s.serverErrors.Add(1)
		writeError(w, http.StatusInternalServerError, "server_error", nil, "The server had an error while processing your request.")
		return
	case faultMalformed:
		s.malformed.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id": "chatcmpl-malformed", "choices": [<html>oops</html>`))
		return
	}

	reply, nwrong, err := s.answer(r.Context(), &req, wrong)
	if err != nil {
		s.backendError(w, req.Model, err)
		return
	}
	body, err := json.Marshal(reply)
	if err != nil {
		panic(err) // a reply always marshals
	}
	w.Header().Set("Content-Type", "application/json")
	switch f {
	case faultTruncated:
		s.truncated.Add(1)
		w.Write(body[:len(body)/2])
	case faultSlow:
		s.slow.Add(1)
		s.wrong.Add(nwrong)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body[:len(body)/2])
		http.NewResponseController(w).Flush()
		if s.sleep(r.Context(), s.opts.SlowFor) {
			w.Write(body[len(body)/2:])
		}
	default:
		s.ok.Add(1)
		s.wrong.Add(nwrong)
		w.Write(body)
	}
}

// draw picks the request's fault and, for each choice, whether its answer
// is wrong.
func (s *Server) draw(choices int) (fault, []bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.rng.Float64()
	f := none
	for i, rate := range []float64{s.opts.Rate429, s.opts.Rate500, s.opts.RateMalformed, s.opts.RateTruncated, s.opts.RateSlow} {
		if u < rate {
			f = fault(i + 1)
			break
		}
		u -= rate
	}
	wrong := make([]bool, choices)
	for i := range wrong {
		wrong[i] = s.rng.Float64() < s.opts.RateWrong
	}
	return f, wrong
}

// answer asks the backend for each choice, and counts the answers it
// made wrong.
func (s *Server) answer(ctx context.Context, req *chatRequest, wrong []bool) (*openai.ChatCompletionResponse, int64, error) {
	lreq := lm.Request{Model: req.Model, Temperature: 1, MaxTokens: req.MaxTokens}
	if req.Temperature != nil {
		lreq.Temperature = *req.Temperature
	}
	if req.MaxCompletionTokens > 0 {
		lreq.MaxTokens = req.MaxCompletionTokens
	}
	for _, m := range req.Messages {
		lreq.Messages = append(lreq.Messages, lm.Message{Role: m.Role, Content: m.Content})
	}
	seed := 0
	if req.Seed != nil {
		seed = *req.Seed
	}
	var nwrong int64
	reply := &openai.ChatCompletionResponse{
		ID: "chatcmpl-test", Object: "chat.completion", Created: time.Now().Unix(), Model: req.Model,
	}
	for i := range wrong {
		lreq.Sample = seed + i
		resp, err := s.opts.Backend.Generate(ctx, lreq)
		if err != nil {
			return nil, 0, err
		}
		text := resp.Text
		if wrong[i] {
			var ok bool
			if text, ok = wrongAnswer(text); ok {
				nwrong++
			}
		}
		if i == 0 {
			reply.Usage.PromptTokens = resp.Usage.PromptTokens
		}
		reply.Usage.CompletionTokens += resp.Usage.CompletionTokens
		reply.Choices = append(reply.Choices, openai.ChatCompletionChoice{
			Index:        i,
			Message:      openai.ChatCompletionMessage{Role: lm.RoleAssistant, Content: text},
			FinishReason: openai.FinishReasonStop,
		})
	}
	reply.Usage.TotalTokens = reply.Usage.PromptTokens + reply.Usage.CompletionTokens
	return reply, nwrong, nil
}

// wrongAnswer replaces the answer on text's last "Answer:" line: a number
// by the next one, other text by "not" and the text.
func wrongAnswer(text string) (string, bool) {
	i := strings.LastIndex(text, "Answer:")
	if i < 0 {
		return text, false
	}
	rest := text[i+len("Answer:"):]
	end := strings.IndexByte(rest, '\n')
	if end < 0 {
		end = len(rest)
	}
	answer := strings.TrimSpace(rest[:end])
	if n, err := strconv.Atoi(answer); err == nil {
		answer = strconv.Itoa(n + 1)
	} else {
		answer = "not " + answer
	}
	return text[:i] + "Answer: " + answer + rest[end:], true
}

func (s *Server) backendError(w http.ResponseWriter, model string, err error) {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The client is gone.
	case errors.Is(err, lm.ErrUnknownModel):
		s.modelNotFound(w, model)
	case errors.Is(err, lm.ErrBadRequest):
		s.badRequest.Add(1)
		writeError(w, http.StatusBadRequest, "invalid_request_error", nil, err.Error())
	case errors.Is(err, lm.ErrRateLimited):
		s.rateLimited.Add(1)
		writeError(w, http.StatusTooManyRequests, "requests", "rate_limit_exceeded", err.Error())
	default:
		s.serverErrors.Add(1)
		writeError(w, http.StatusInternalServerError, "server_error", nil, err.Error())
	}
}

func (s *Server) modelNotFound(w http.ResponseWriter, model string) {
	s.notFound.Add(1)
	writeError(w, http.StatusNotFound, "invalid_request_error", "model_not_found",
		"The model `"+model+"` does not exist or you do not have access to it.")
}

// writeError writes an error in the OpenAI API's shape.
func writeError(w http.ResponseWriter, status int, typ string, code any, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(openai.ErrorResponse{Error: &openai.APIError{Message: msg, Type: typ, Code: code}})
}

// sleep waits for d, reporting false if the request or the server ended
// first.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.done:
	}
	return false
}
