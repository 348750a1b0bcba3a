// Package chromium drives headless Chromium for tests: it renders a page
// to its DOM or a screenshot, collects the errors a page logs to the
// console while it loads, and compares screenshots loosely.
//
// Each run has its own profile, config and caches in a temporary
// directory, removed afterwards, and is killed with its whole process
// tree (zygotes, renderers, GPU and utility processes) when it is done or
// its context ends. The flags keep Chromium offline and rendering in
// software at a fixed scale and colour profile, so that screenshots are
// alike from one machine to another. Chromium runs without its sandbox,
// as CI runs tests as root.
//
// The DevTools-protocol client is a minimal websocket client on the
// standard library, enough for one page target and its events.
//
// A test starts with [Find] and skips when Chromium is missing:
//
//	bin, err := chromium.Find()
//	if err != nil {
//		t.Skip(err)
//	}
package chromium
