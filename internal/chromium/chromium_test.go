package chromium

import (
	"context"
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDifferingShare(t *testing.T) {
	a := image.NewRGBA(image.Rect(0, 0, 10, 10))
	b := image.NewRGBA(image.Rect(0, 0, 10, 10))
	for i := range a.Pix {
		a.Pix[i], b.Pix[i] = 0xff, 0xff
	}
	b.SetRGBA(1, 1, color.RGBA{0xff, 0xff, 0xf0, 0xff}) // a faint difference: not counted
	b.SetRGBA(2, 2, color.RGBA{0, 0, 0, 0xff})
	b.SetRGBA(3, 3, color.RGBA{0xff, 0, 0xff, 0xff})
	if got, err := DifferingShare(a, b); err != nil || got != 0.02 {
		t.Errorf("DifferingShare = %v, %v; want 0.02", got, err)
	}
	if _, err := DifferingShare(a, image.NewRGBA(image.Rect(0, 0, 10, 11))); err == nil {
		t.Error("DifferingShare of images of different sizes succeeded")
	}
	// Bounds need not start at the origin.
	if got, err := DifferingShare(a.SubImage(image.Rect(2, 2, 4, 4)), b.SubImage(image.Rect(2, 2, 4, 4))); err != nil || got != 0.5 {
		t.Errorf("DifferingShare of 2×2 sub-images = %v, %v; want 0.5", got, err)
	}
	if got, err := DifferingShare(image.NewRGBA(image.Rectangle{}), image.NewRGBA(image.Rectangle{})); err != nil || got != 0 {
		t.Errorf("DifferingShare of empty images = %v, %v; want 0", got, err)
	}
}

func TestPNGRoundTrip(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	img.SetRGBA(2, 1, color.RGBA{0x12, 0x34, 0x56, 0xff})
	path := filepath.Join(t.TempDir(), "a.png")
	if err := WritePNG(path, img); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPNG(path)
	if err != nil {
		t.Fatal(err)
	}
	if share, err := DifferingShare(got, img); err != nil || share != 0 {
		t.Errorf("the PNG read back differs: %v, %v", share, err)
	}
	if r, g, b, _ := got.At(2, 1).RGBA(); r>>8 != 0x12 || g>>8 != 0x34 || b>>8 != 0x56 {
		t.Errorf("pixel (2, 1) read back as %v", got.At(2, 1))
	}
	if err := os.WriteFile(path, []byte("not a PNG"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPNG(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("ReadPNG of a text file: %v, want an error naming it", err)
	}
}

func TestFileURL(t *testing.T) {
	if got := FileURL("/tmp/a b/r#1.html"); got != "file:///tmp/a%20b/r%231.html" {
		t.Errorf("FileURL = %q", got)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := FileURL("x.html"), "file://"+filepath.ToSlash(filepath.Join(wd, "x.html")); got != want {
		t.Errorf("FileURL of a relative path = %q, want %q", got, want)
	}
}

func TestFindMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if bin, err := Find(); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "apt-get install chromium") {
		t.Errorf("Find with an empty PATH = %q, %v; want ErrNotFound", bin, err)
	}
}

// TestChromium runs each entry point on small pages: what it returns, and
// that it leaves no process or directory behind.
func TestChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium; skipped with -short")
	}
	bin, err := Find()
	if err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		html := "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + name + "</title></head>" + body + "</html>\n"
		if err := os.WriteFile(path, []byte(html), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	scripted := write("scripted.html", `<body><p id="p">static</p><script>document.getElementById("p").textContent = "set by the script"</script></body>`)
	red := write("red.html", `<body style="margin:0;background:#ff0000"></body>`)
	clean := write("clean.html", `<body><p>nothing wrong</p></body>`)
	failing := write("failing.html", `<body><script>console.error("first"); console.assert(false, "second"); null.x</script></body>`)
	missing := filepath.Join(dir, "missing.html")

	t.Run("DumpDOM", func(t *testing.T) {
		t.Parallel()
		dom, err := DumpDOM(ctx, bin, scripted)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(dom, `<p id="p">set by the script</p>`) {
			t.Errorf("the DOM does not show the script's change:\n%s", dom)
		}
		if _, err := DumpDOM(ctx, bin, missing); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("DumpDOM of a missing file: %v, want ErrNotExist", err)
		}
	})

	t.Run("Screenshot", func(t *testing.T) {
		t.Parallel()
		shot := filepath.Join(dir, "red.png")
		if err := Screenshot(ctx, bin, red, shot, 200, 120); err != nil {
			t.Fatal(err)
		}
		img, err := ReadPNG(shot)
		if err != nil {
			t.Fatal(err)
		}
		if size := img.Bounds().Size(); size != image.Pt(200, 120) {
			t.Errorf("the screenshot is %v, want 200×120", size)
		}
		if r, g, b, _ := img.At(100, 60).RGBA(); r>>8 != 0xff || g>>8 != 0 || b>>8 != 0 {
			t.Errorf("the screenshot's middle is %v, want red", img.At(100, 60))
		}
		if err := Screenshot(ctx, bin, red, shot, 0, 120); err == nil {
			t.Error("a screenshot 0 pixels wide succeeded")
		}
		if err := Screenshot(ctx, bin, missing, shot, 200, 120); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Screenshot of a missing file: %v, want ErrNotExist", err)
		}
	})

	t.Run("Browser", func(t *testing.T) {
		t.Parallel()
		br, err := Start(ctx, bin)
		if err != nil {
			t.Fatal(err)
		}
		defer br.Close()
		if errs, err := br.ConsoleErrors(ctx, FileURL(clean)); err != nil || len(errs) != 0 {
			t.Errorf("the clean page: %q, %v; want no errors", errs, err)
		}
		errs, err := br.ConsoleErrors(ctx, FileURL(failing))
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(errs, "\n")
		for _, want := range []string{"console.error: first", "console.assert: second", "exception: Uncaught TypeError"} {
			if !strings.Contains(all, want) {
				t.Errorf("the failing page's errors lack %q:\n%s", want, all)
			}
		}
		if len(errs) != 3 {
			t.Errorf("the failing page logged %d errors, want 3:\n%s", len(errs), all)
		}
		// The errors are the last page's only.
		if errs, err := br.ConsoleErrors(ctx, FileURL(clean)); err != nil || len(errs) != 0 {
			t.Errorf("the clean page after the failing one: %q, %v; want no errors", errs, err)
		}

		// A call whose ctx has ended fails, and leaves the browser usable.
		done, stop := context.WithCancel(ctx)
		stop()
		if _, err := br.ConsoleErrors(done, FileURL(clean)); !errors.Is(err, context.Canceled) {
			t.Errorf("ConsoleErrors with a cancelled context: %v, want context.Canceled", err)
		}
		if errs, err := br.ConsoleErrors(ctx, FileURL(clean)); err != nil || len(errs) != 0 {
			t.Errorf("the clean page after a cancelled call: %q, %v; want no errors", errs, err)
		}

		pids := append(descendants(br.cmd.Process.Pid), br.cmd.Process.Pid)
		if len(pids) < 3 {
			t.Errorf("Chromium runs as %d processes, want its helpers too", len(pids))
		}
		br.Close()
		br.Close()
		for _, pid := range pids {
			if alive(pid) {
				t.Errorf("process %d outlived Close", pid)
			}
		}
		if _, err := os.Stat(br.dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Close left %s: %v", br.dir, err)
		}
	})

	t.Run("StartCancelled", func(t *testing.T) {
		t.Parallel()
		done, stop := context.WithCancel(ctx)
		stop()
		if br, err := Start(done, bin); err == nil {
			br.Close()
			t.Error("Start with a cancelled context succeeded")
		}
	})
}

// alive reports whether /proc lists pid as a process that is not a
// zombie: a killed helper re-parented to an init that does not reap is
// gone all the same.
func alive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || !strings.HasPrefix(strings.TrimSpace(string(stat[i+1:])), "Z")
}
