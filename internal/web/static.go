package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

//go:embed templates static
var files embed.FS

// vendorMarker is written by web/build.mjs next to the vendor files; without
// it the pages explain that `make web` has not run.
const vendorMarker = "dist/BUILT"

// staticFile is one embedded static file.
type staticFile struct {
	data  []byte
	gz    []byte // nil when compressing does not pay
	ctype string
	etag  string
}

// staticRoute is a static file at one URL; hashed URLs never change
// content.
type staticRoute struct {
	*staticFile
	immutable bool
}

// staticFiles serves the files under static/ at /static/NAME and at a
// content-hashed /static/NAME-with-hash URL that is cached forever.
type staticFiles struct {
	byPath map[string]staticRoute // URL path -> file, hashed and plain
	hashed map[string]string      // name relative to static/ -> hashed URL
	vendor bool                   // the vendor build is present
}

// loadStatic hashes and (for text) compresses every file under static/ in
// fsys (the embedded files, except in tests) once at start-up, so serving one
// is a map lookup and a write.
func loadStatic(fsys fs.FS) *staticFiles {
	a := &staticFiles{byPath: map[string]staticRoute{}, hashed: map[string]string{}}
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		sum := sha256.Sum256(data)
		hash := hex.EncodeToString(sum[:])[:12]
		ext := path.Ext(name)
		ctype := mime.TypeByExtension(ext)
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		as := &staticFile{data: data, ctype: ctype, etag: `"` + hash + `"`}
		if compressible(ctype) && len(data) > 512 {
			as.gz = gzipBytes(data, gzip.BestCompression)
		}
		hashedURL := "/static/" + strings.TrimSuffix(name, ext) + "." + hash + ext
		a.byPath["/static/"+name] = staticRoute{as, false}
		a.byPath[hashedURL] = staticRoute{as, true}
		a.hashed[name] = hashedURL
		if name == vendorMarker {
			a.vendor = true
		}
		return nil
	})
	if err != nil {
		panic("web: reading embedded static files: " + err.Error())
	}
	return a
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "javascript") ||
		strings.Contains(ctype, "json") || strings.Contains(ctype, "svg")
}

func gzipBytes(data []byte, level int) []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, level)
	zw.Write(data)
	zw.Close()
	return b.Bytes()
}

// url returns the content-hashed URL of the static file name (relative to
// static/, e.g. "app.js" or "dist/leaflet.js"). An unknown name yields a URL
// that 404s, so a typo shows in the browser's console rather than panicking.
func (a *staticFiles) url(name string) string {
	if u, ok := a.hashed[name]; ok {
		return u
	}
	return "/static/missing/" + name
}

// ServeHTTP serves a static file. Hashed URLs are immutable; plain ones
// (which vendor CSS reaches through relative image URLs) revalidate.
func (a *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	as, ok := a.byPath[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", as.ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	if as.immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("ETag", as.etag)
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, as.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	serveBody(w, r, as.data, as.gz)
}

// serveBody writes data, or its gzip form when there is one and the client
// takes it.
func serveBody(w http.ResponseWriter, r *http.Request, data, gz []byte) {
	h := w.Header()
	if gz != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			h.Set("Content-Encoding", "gzip")
			data = gz
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(data)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(data)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		q, ok := strings.CutPrefix(strings.TrimSpace(params), "q=")
		if !ok {
			return true
		}
		v, err := strconv.ParseFloat(q, 64)
		return err == nil && v > 0
	}
	return false
}
