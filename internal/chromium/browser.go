package chromium

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Browser is a Chromium started with --remote-debugging-port=0 and one
// page target attached over the DevTools protocol, with the Runtime, Log
// and Page domains enabled. It loads one page at a time: its methods must
// not be called concurrently.
type Browser struct {
	cmd     *exec.Cmd
	dir     string     // its profile, config and caches
	exited  chan error // receives cmd.Wait's result
	cdp     *cdpConn
	session string // the page target's session id
	once    sync.Once
}

// Start starts Chromium (bin, from Find) in a 1280×2000 window, showing
// about:blank. It is killed with its process tree by Close, or when ctx
// ends.
func Start(ctx context.Context, bin string) (*Browser, error) {
	dir, err := os.MkdirTemp("", "chromium-")
	if err != nil {
		return nil, err
	}
	lw := &listenWriter{found: make(chan string, 1)}
	cmd := command(ctx, bin, dir, defaultWindow, "--remote-debugging-port=0", "about:blank")
	cmd.Stderr = lw
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	br := &Browser{cmd: cmd, dir: dir, exited: make(chan error, 1)}
	go func() { br.exited <- cmd.Wait() }()
	fail := func(err error) (*Browser, error) {
		br.Close()
		return nil, fmt.Errorf("%w\n%s", err, tail(lw.String(), 20))
	}
	var wsURL string
	select {
	case wsURL = <-lw.found:
	case err := <-br.exited:
		br.exited <- err
		return fail(fmt.Errorf("chromium exited before listening: %v", err))
	case <-ctx.Done():
		return fail(fmt.Errorf("chromium did not say where DevTools listen: %w", ctx.Err()))
	}
	c, err := dialCDP(ctx, wsURL)
	if err != nil {
		return fail(err)
	}
	br.cdp = c
	var target struct{ TargetID string }
	if err := c.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		return fail(err)
	}
	var attached struct{ SessionID string }
	if err := c.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached); err != nil {
		return fail(err)
	}
	br.session = attached.SessionID
	for _, m := range []string{"Runtime.enable", "Log.enable", "Page.enable"} {
		if err := c.call(br.session, m, nil, nil); err != nil {
			return fail(err)
		}
	}
	return br, nil
}

// Close kills the browser's process tree, waits for it and removes its
// directory. Calls after the first do nothing.
func (br *Browser) Close() {
	br.once.Do(func() {
		if br.cdp != nil {
			br.cdp.conn.Close()
		}
		select {
		case err := <-br.exited: // it died on its own: its pid may be another's now
			br.exited <- err
		default:
			_ = killTree(br.cmd.Process)
			br.exited <- <-br.exited
		}
		os.RemoveAll(br.dir)
	})
}

// ConsoleErrors loads url in the page target and returns the errors it
// logged until its load event: uncaught exceptions, console.error and
// console.assert calls, and the browser's own error entries (failed
// loads, Content-Security-Policy violations, bad SVG attributes). A page
// that logs none gives none; err is for a load that could not be watched
// (the browser gone, ctx ended).
func (br *Browser) ConsoleErrors(ctx context.Context, url string) ([]string, error) {
	c := br.cdp
	// ctx bounds this call only: its end makes the pending read fail.
	deadline, _ := ctx.Deadline()
	if err := c.conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	errs, err := br.consoleErrors(url)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("loading %s: %w (%v)", url, ctx.Err(), err)
	}
	return errs, err
}

func (br *Browser) consoleErrors(url string) ([]string, error) {
	c := br.cdp
	c.events = nil
	var nav struct{ ErrorText string }
	if err := c.call(br.session, "Page.navigate", map[string]any{"url": url}, &nav); err != nil {
		return nil, err
	}
	if nav.ErrorText != "" {
		return []string{"navigation: " + nav.ErrorText}, nil
	}
	if err := c.waitEvent(br.session, "Page.loadEventFired"); err != nil {
		return nil, err
	}
	// A round trip: events the page raised before it are read by now.
	if err := c.call(br.session, "Runtime.evaluate", map[string]any{"expression": "document.readyState"}, nil); err != nil {
		return nil, err
	}
	var errs []string
	for _, e := range c.events {
		if e.SessionID != br.session {
			continue
		}
		switch e.Method {
		case "Runtime.exceptionThrown":
			var p struct {
				ExceptionDetails struct {
					Text      string
					URL       string
					Exception struct{ Description string }
				}
			}
			if err := json.Unmarshal(e.Params, &p); err != nil {
				return nil, err
			}
			d := p.ExceptionDetails
			errs = append(errs, fmt.Sprintf("exception: %s %s (%s)", d.Text, d.Exception.Description, d.URL))
		case "Runtime.consoleAPICalled":
			var p struct {
				Type string
				Args []struct {
					Value       any
					Description string
				}
			}
			if err := json.Unmarshal(e.Params, &p); err != nil {
				return nil, err
			}
			if p.Type != "error" && p.Type != "assert" {
				continue
			}
			var args []string
			for _, a := range p.Args {
				if a.Value != nil {
					args = append(args, fmt.Sprint(a.Value))
				} else {
					args = append(args, a.Description)
				}
			}
			errs = append(errs, fmt.Sprintf("console.%s: %s", p.Type, strings.Join(args, " ")))
		case "Log.entryAdded":
			var p struct {
				Entry struct{ Source, Level, Text, URL string }
			}
			if err := json.Unmarshal(e.Params, &p); err != nil {
				return nil, err
			}
			if p.Entry.Level == "error" {
				errs = append(errs, fmt.Sprintf("log (%s): %s %s", p.Entry.Source, p.Entry.Text, p.Entry.URL))
			}
		case "Inspector.targetCrashed":
			errs = append(errs, "the page crashed")
		}
	}
	return errs, nil
}

// listenWriter is Chromium's standard error: kept for messages, and
// watched for the line saying where the DevTools websocket listens.
type listenWriter struct {
	found chan string // receives the websocket URL once

	mu   sync.Mutex // protects the fields below
	buf  bytes.Buffer
	done bool
}

func (w *listenWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done {
		const prefix = "DevTools listening on "
		s := w.buf.String()
		if i := strings.Index(s, prefix); i >= 0 {
			if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
				w.found <- strings.TrimSpace(s[i+len(prefix) : i+j])
				w.done = true
			}
		}
	}
	return len(p), nil
}

func (w *listenWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// cdpConn speaks the DevTools protocol over a websocket, one call at a
// time: call sends a command and reads until its response, keeping the
// events read meanwhile in events.
type cdpConn struct {
	conn   net.Conn
	r      *bufio.Reader
	next   int
	events []cdpMessage
}

type cdpMessage struct {
	ID        int             `json:"id"`
	Method    string          `json:"method"`
	Params    json.RawMessage `json:"params"`
	Result    json.RawMessage `json:"result"`
	SessionID string          `json:"sessionId"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// dialCDP opens the websocket at wsURL (ws://host:port/devtools/browser/…);
// ctx's end closes it, failing any call in progress.
func dialCDP(ctx context.Context, wsURL string) (*cdpConn, error) {
	u, err := url.Parse(wsURL)
	if err != nil || u.Scheme != "ws" {
		return nil, fmt.Errorf("DevTools URL %q: not ws://", wsURL)
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, func() { conn.Close() })
	key := make([]byte, 16)
	rand.Read(key)
	k := base64.StdEncoding.EncodeToString(key)
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", u.RequestURI(), u.Host, k)
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, &http.Request{Method: http.MethodGet})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("websocket handshake: %w", err)
	}
	resp.Body.Close()
	sum := sha1.Sum([]byte(k + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		conn.Close()
		return nil, fmt.Errorf("websocket handshake: %s", resp.Status)
	}
	return &cdpConn{conn: conn, r: r}, nil
}

// call sends method with params (nil for none) to session ("" for the
// browser) and decodes the response's result into result (nil to drop it).
func (c *cdpConn) call(session, method string, params, result any) error {
	c.next++
	id := c.next
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if err := c.writeFrame(0x1, b); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	for {
		m, err := c.read()
		if err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
		if m.ID != id {
			continue // an event (kept by read) or a stray response
		}
		if m.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if result != nil {
			return json.Unmarshal(m.Result, result)
		}
		return nil
	}
}

// waitEvent reads until session raises the event method, or finds it
// among the events kept.
func (c *cdpConn) waitEvent(session, method string) error {
	for _, e := range c.events {
		if e.SessionID == session && e.Method == method {
			return nil
		}
	}
	for {
		m, err := c.read()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", method, err)
		}
		if m.SessionID == session && m.Method == method {
			return nil
		}
	}
}

// read returns the next message, keeping it in events if it is one.
func (c *cdpConn) read() (cdpMessage, error) {
	b, err := c.readMessage()
	if err != nil {
		return cdpMessage{}, err
	}
	var m cdpMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("DevTools message %.80q: %w", b, err)
	}
	if m.Method != "" {
		c.events = append(c.events, m)
	}
	return m, nil
}

// readMessage reads websocket frames to the end of a text or binary
// message, answering pings.
func (c *cdpConn) readMessage() ([]byte, error) {
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.r, h[:]); err != nil {
			return nil, err
		}
		fin, op, masked := h[0]&0x80 != 0, h[0]&0x0f, h[1]&0x80 != 0
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var l [2]byte
			if _, err := io.ReadFull(c.r, l[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(l[:]))
		case 127:
			var l [8]byte
			if _, err := io.ReadFull(c.r, l[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(l[:])
		}
		if n > 64<<20 {
			return nil, fmt.Errorf("websocket frame of %d bytes", n)
		}
		var mask [4]byte
		if masked {
			if _, err := io.ReadFull(c.r, mask[:]); err != nil {
				return nil, err
			}
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(c.r, payload); err != nil {
			return nil, err
		}
		if masked {
			for i := range payload {
				payload[i] ^= mask[i%4]
			}
		}
		switch op {
		case 0x8: // close
			return nil, errors.New("the DevTools websocket was closed")
		case 0x9: // ping
			if err := c.writeFrame(0xA, payload); err != nil {
				return nil, err
			}
			continue
		case 0xA: // pong
			continue
		}
		msg = append(msg, payload...)
		if fin {
			return msg, nil
		}
	}
}

// writeFrame writes one final frame, masked as a client must.
func (c *cdpConn) writeFrame(op byte, payload []byte) error {
	h := []byte{0x80 | op}
	switch n := len(payload); {
	case n < 126:
		h = append(h, 0x80|byte(n))
	case n <= 0xffff:
		h = append(h, 0x80|126)
		h = binary.BigEndian.AppendUint16(h, uint16(n))
	default:
		h = append(h, 0x80|127)
		h = binary.BigEndian.AppendUint64(h, uint64(n))
	}
	var mask [4]byte
	rand.Read(mask[:])
	h = append(h, mask[:]...)
	frame := append(h, payload...)
	for i := range payload {
		frame[len(h)+i] ^= mask[i%4]
	}
	_, err := c.conn.Write(frame)
	return err
}
