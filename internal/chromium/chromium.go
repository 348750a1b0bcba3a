package chromium

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrNotFound is returned by Find when there is no Chromium to run.
var ErrNotFound = errors.New("chromium is not on PATH; on Debian: apt-get install chromium")

// defaultWindow is the size ("W,H" in pixels, at scale 1) of the window DumpDOM
// and Start lay pages out in.
const defaultWindow = "1280,2000"

// budget is the virtual time a page run to completion (DumpDOM,
// Screenshot) gets to load, in milliseconds.
const budget = "2000"

// Find returns the path of the chromium executable on PATH, or ErrNotFound.
func Find() (bin string, err error) {
	bin, err = exec.LookPath("chromium")
	if err != nil {
		return "", ErrNotFound
	}
	return bin, nil
}

// DumpDOM loads the file htmlPath in Chromium (bin, from Find) in a
// 1280×2000 window and returns its DOM serialized as HTML once the page
// has loaded and run its scripts (two seconds of virtual time at most).
func DumpDOM(ctx context.Context, bin, htmlPath string) (string, error) {
	u, err := pageURL(htmlPath)
	if err != nil {
		return "", err
	}
	out, err := runOnce(ctx, bin, defaultWindow, "--virtual-time-budget="+budget, "--dump-dom", u)
	return string(out), err
}

// Screenshot loads the file htmlPath in Chromium (bin, from Find) in a
// window of width × height pixels and writes what it shows, once loaded,
// to pngPath as a PNG of that size.
func Screenshot(ctx context.Context, bin, htmlPath, pngPath string, width, height int) error {
	if width <= 0 || height <= 0 {
		return fmt.Errorf("chromium: screenshot of %d×%d pixels", width, height)
	}
	u, err := pageURL(htmlPath)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(pngPath) // Chromium writes a relative one under its own directory
	if err != nil {
		return err
	}
	// A stale file would pass for the new screenshot.
	if err := os.Remove(abs); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	size := strconv.Itoa(width) + "," + strconv.Itoa(height)
	if _, err := runOnce(ctx, bin, size, "--virtual-time-budget="+budget, "--screenshot="+abs, u); err != nil {
		return err
	}
	if _, err := os.Stat(abs); err != nil {
		return fmt.Errorf("chromium wrote no screenshot: %w", err)
	}
	return nil
}

// FileURL is the file: URL of path, made absolute.
func FileURL(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
}

// pageURL is FileURL of htmlPath, which must exist: Chromium would render
// its error page for a missing file and succeed.
func pageURL(htmlPath string) (string, error) {
	if _, err := os.Stat(htmlPath); err != nil {
		return "", err
	}
	return FileURL(htmlPath), nil
}

// flags are the flags of every run: headless, no sandbox (CI runs as
// root), software rendering at a fixed size ("W,H"), scale and colour
// profile, and nothing that reaches the network on its own; /dev/shm
// unused, as containers keep it small.
func flags(userDataDir, window string) []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--hide-scrollbars",
		"--window-size=" + window, "--force-device-scale-factor=1", "--force-color-profile=srgb",
		"--run-all-compositor-stages-before-draw",
		"--user-data-dir=" + userDataDir,
		"--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
		"--disable-background-networking", "--disable-component-update", "--disable-default-apps", "--mute-audio",
	}
}

// command is Chromium with the flags and args, its profile, config and
// caches under dir, killed with its process tree when ctx ends.
func command(ctx context.Context, bin, dir, window string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, append(flags(filepath.Join(dir, "profile"), window), args...)...)
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
	cmd.Cancel = func() error { return killTree(cmd.Process) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// runOnce runs Chromium to completion (as --dump-dom and --screenshot do)
// in a temporary directory and returns its standard output.
func runOnce(ctx context.Context, bin, window string, args ...string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "chromium-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cmd := command(ctx, bin, dir, window, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, fmt.Errorf("chromium %s: %w\n%s", strings.Join(args, " "), err, tail(stderr.String(), 20))
	}
	return out, nil
}

// killTree kills p and, on Linux, every process descending from it (the
// zygotes, renderers, GPU and utility processes), found in /proc before
// p dies and they are re-parented.
func killTree(p *os.Process) error {
	kids := descendants(p.Pid)
	err := p.Kill()
	for _, pid := range kids {
		if q, err := os.FindProcess(pid); err == nil {
			_ = q.Kill()
		}
	}
	return err
}

// descendants lists the processes below pid in /proc; none where there is
// no /proc.
func descendants(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil {
			children[ppid] = append(children[ppid], n)
		}
	}
	var out []int
	for queue := children[pid]; len(queue) > 0; queue = queue[1:] {
		out = append(out, queue[0])
		queue = append(queue, children[queue[0]]...)
	}
	return out
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
