package web

import (
	"bytes"
	"encoding/binary"
	"image/png"
	"testing"
)

// TestFavicon: /favicon.ico answers anyone with an ICO file whose one
// image is a 32×32 PNG.
func TestFavicon(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 2})
	res, body := f.get(f.client(""), "/favicon.ico")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/x-icon" {
		t.Fatalf("GET /favicon.ico: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	b := []byte(body)
	var dir [3]uint16
	if len(b) < 22 || binary.Read(bytes.NewReader(b[:6]), binary.LittleEndian, &dir) != nil || dir != [3]uint16{0, 1, 1} {
		t.Fatalf("not an ICO file with one image: % x", b[:min(len(b), 22)])
	}
	size, off := binary.LittleEndian.Uint32(b[14:18]), binary.LittleEndian.Uint32(b[18:22])
	if int(off)+int(size) != len(b) {
		t.Fatalf("image at %d, %d bytes, in a file of %d", off, size, len(b))
	}
	img, err := png.Decode(bytes.NewReader(b[off:]))
	if err != nil || img.Bounds().Dx() != 32 || img.Bounds().Dy() != 32 {
		t.Fatalf("the image: %v, %v", img, err)
	}
}
