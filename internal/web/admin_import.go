package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/civic-city/civic/internal/assets"
	"github.com/civic-city/civic/internal/civic"
)

// maxImportBytes bounds an uploaded bin file.
const maxImportBytes = 32 << 20

// maxImportErrors is how many faulty lines one import reports.
const maxImportErrors = 100

// adminBinImport imports the uploaded CSV or GeoJSON file of bins: all of
// them or, when any line is wrong, none, listing every faulty line (up to
// maxImportErrors) with the reader's own message.
func (u *UI) adminBinImport(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	kinds := u.assetKinds()
	d := assetListData{Kind: kinds[0], Statuses: assetStatuses}
	r.Body = http.MaxBytesReader(w, r.Body, maxImportBytes+1<<20)
	file, hdr, err := r.FormFile("file")
	if err != nil {
		d.ImportErrors = []string{"Choose a CSV or GeoJSON file of bins to import."}
		u.renderAssetList(w, r, p, http.StatusBadRequest, &d)
		return
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxImportBytes+1))
	if err != nil || len(data) > maxImportBytes {
		d.ImportErrors = []string{"The file could not be read, or is larger than 32 MiB."}
		u.renderAssetList(w, r, p, http.StatusBadRequest, &d)
		return
	}
	bins, errs := readBinsAllErrors(data, hdr.Filename)
	if len(errs) > 0 {
		d.ImportErrors = errs
		u.renderAssetList(w, r, p, http.StatusBadRequest, &d)
		return
	}
	if err := u.deps.Store.ImportBins(r.Context(), bins); err != nil {
		if civic.KindOf(err) == civic.Internal {
			u.fail(w, r, err)
			return
		}
		d.ImportErrors = []string{civic.MessageOf(err)}
		u.renderAssetList(w, r, p, httpStatusOf(err), &d)
		return
	}
	u.audit(r, p, "bin.import", "bins", strconv.Itoa(len(bins))+" bins from "+hdr.Filename)
	d.Imported = len(bins)
	u.AssetsChanged()
	u.renderAssetList(w, r, p, http.StatusOK, &d)
}

// featureIndex finds the feature a GeoJSON reader's error is about.
var featureIndex = regexp.MustCompile(`^features\[(\d+)\]`)

// readBinsAllErrors reads bins from a file with package assets, which
// stops at the first faulty line; to report every faulty line it reads
// again without that line (a CSV line blanked, which the reader skips, so
// line numbers stay true; a GeoJSON feature left out, its index mapped
// back) until the file reads or maxImportErrors are found. Errors that
// are not about one line (the header, the file) end the search.
func readBinsAllErrors(data []byte, filename string) ([]civic.Bin, []string) {
	var errs []string
	format, _ := assets.DetectFormat(filename)
	var features []json.RawMessage
	var orig []int // features[i] is the file's feature orig[i]
	var doc map[string]json.RawMessage
	if format == assets.FormatGeoJSON || (format == "" && bytes.Contains(data, []byte(`"FeatureCollection"`))) {
		if json.Unmarshal(data, &doc) == nil && json.Unmarshal(doc["features"], &features) == nil {
			for i := range features {
				orig = append(orig, i)
			}
		}
	}
	for len(errs) < maxImportErrors {
		bins, err := assets.ReadBins(bytes.NewReader(data), filename, "")
		if err == nil {
			if len(errs) > 0 {
				return nil, errs
			}
			return bins, nil
		}
		var re *assets.RowError
		if !errors.As(err, &re) {
			return nil, append(errs, civic.MessageOf(err))
		}
		if features != nil {
			m := featureIndex.FindStringSubmatch(re.Field)
			i := -1
			if m != nil {
				i, _ = strconv.Atoi(m[1])
			}
			if i < 0 || i >= len(features) {
				return nil, append(errs, re.Error())
			}
			re.Field = "features[" + strconv.Itoa(orig[i]) + "]" + strings.TrimPrefix(re.Field, m[0])
			errs = append(errs, re.Error())
			features = append(features[:i], features[i+1:]...)
			orig = append(orig[:i], orig[i+1:]...)
			raw, _ := json.Marshal(features)
			doc["features"] = raw
			data, _ = json.Marshal(doc)
			continue
		}
		errs = append(errs, re.Error())
		lines := bytes.Split(data, []byte("\n"))
		if re.Line <= 1 || re.Line > len(lines) || len(bytes.TrimSpace(lines[re.Line-1])) == 0 {
			return nil, errs
		}
		lines[re.Line-1] = nil
		data = bytes.Join(lines, []byte("\n"))
	}
	return nil, append(errs, "… and possibly more: correct these lines and import again")
}
