package chromium

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
)

// ReadPNG decodes the PNG file at path.
func ReadPNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// WritePNG writes img to path as a PNG, compressed hard as golden files
// are kept in the repository.
func WritePNG(path string, img image.Image) error {
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, img); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// DifferingShare is the share of pixels of a and b (of the same size: a
// the screenshot, b the golden one, as its error says) whose colours
// differ by more than 48 of 255 in some channel: text rendered a little
// differently moves few pixels, a changed layout many.
func DifferingShare(a, b image.Image) (float64, error) {
	if a.Bounds().Size() != b.Bounds().Size() {
		return 0, fmt.Errorf("the screenshot is %v, the golden %v", a.Bounds().Size(), b.Bounds().Size())
	}
	if a.Bounds().Empty() {
		return 0, nil
	}
	const limit = 48 << 8 // in the 16-bit range RGBA returns
	diff := func(x, y uint32) bool { return x > y+limit || y > x+limit }
	n := 0
	ab, bb := a.Bounds(), b.Bounds()
	for y := 0; y < ab.Dy(); y++ {
		for x := 0; x < ab.Dx(); x++ {
			r1, g1, b1, a1 := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, a2 := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			if diff(r1, r2) || diff(g1, g2) || diff(b1, b2) || diff(a1, a2) {
				n++
			}
		}
	}
	return float64(n) / float64(ab.Dx()*ab.Dy()), nil
}

// MatchScreenshot takes a width×height screenshot of the page at
// htmlPath and compares it with the golden PNG: an error when more than
// maxShare of its pixels differ, naming a temporary file that keeps the
// screenshot for a look. With update it rewrites the golden instead. share
// is the share of pixels that differ.
func MatchScreenshot(ctx context.Context, bin, htmlPath, golden string, width, height int, maxShare float64, update bool) (share float64, err error) {
	dir, err := os.MkdirTemp("", "chromium-shot-*")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	shot := filepath.Join(dir, "shot.png")
	if err := Screenshot(ctx, bin, htmlPath, shot, width, height); err != nil {
		return 0, err
	}
	got, err := ReadPNG(shot)
	if err != nil {
		return 0, err
	}
	if update {
		return 0, WritePNG(golden, got)
	}
	want, err := ReadPNG(golden)
	if err != nil {
		return 0, fmt.Errorf("%w (-update writes it)", err)
	}
	share, err = DifferingShare(got, want)
	if err == nil && share > maxShare {
		err = fmt.Errorf("%.2f%% of the pixels differ from %s, want at most %.2f%%", 100*share, golden, 100*maxShare)
	}
	if err != nil {
		if f, cerr := os.CreateTemp("", "screenshot-*.png"); cerr == nil {
			_ = png.Encode(f, got)
			f.Close()
			err = fmt.Errorf("%w; the screenshot is %s (-update to accept it)", err, f.Name())
		}
	}
	return share, err
}
