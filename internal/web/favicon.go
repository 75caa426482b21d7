package web

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"sync"
)

// The favicon: civic's logo, a green dot on the header's ink, drawn once
// at 32×32 and served as an ICO file holding one PNG image (which every
// browser since 2007 reads), so /favicon.ico answers without a binary
// file in the repository.

var (
	faviconOnce sync.Once
	faviconICO  []byte
)

func drawFavicon() []byte {
	const n = 32
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	ink := color.NRGBA{0x1d, 0x23, 0x30, 0xff}
	green := color.NRGBA{0x7b, 0xd3, 0x89, 0xff}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			dx, dy := float64(x)-15.5, float64(y)-15.5
			switch d := dx*dx + dy*dy; {
			case d <= 9*9:
				img.SetNRGBA(x, y, green)
			case d <= 15.5*15.5:
				img.SetNRGBA(x, y, ink)
			}
		}
	}
	var p bytes.Buffer
	if err := png.Encode(&p, img); err != nil {
		panic(err) // encoding an in-memory image cannot fail
	}
	var b bytes.Buffer
	// ICONDIR: reserved, type 1 (icon), one image.
	binary.Write(&b, binary.LittleEndian, [3]uint16{0, 1, 1})
	// ICONDIRENTRY: width, height, colours, reserved, planes, bit count,
	// size of the image, its offset (6 + 16).
	b.Write([]byte{n, n, 0, 0})
	binary.Write(&b, binary.LittleEndian, [2]uint16{1, 32})
	binary.Write(&b, binary.LittleEndian, [2]uint32{uint32(p.Len()), 22})
	b.Write(p.Bytes())
	return b.Bytes()
}

// favicon serves /favicon.ico to anyone: browsers ask for it before a
// visitor signs in.
func (u *UI) favicon(w http.ResponseWriter, r *http.Request) {
	faviconOnce.Do(func() { faviconICO = drawFavicon() })
	h := w.Header()
	h.Set("Content-Type", "image/x-icon")
	h.Set("Cache-Control", "public, max-age=86400")
	w.Write(faviconICO)
}
