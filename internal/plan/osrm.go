package plan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// OSRM asks an OSRM server's table service for road distances and driving
// times (GET /table/v1/driving/{lon,lat;...}?annotations=distance,duration).
//
// OSRM servers cap the size of a table (osrm-routed --max-table-size,
// 100 by default, bounds sources × destinations at its square), so a large
// table is asked for in blocks of BlockSize sources × BlockSize
// destinations, each request carrying only the coordinates of its block.
//
// A pair OSRM cannot route (a point snapped to a road cut off from the
// rest) comes back as null. With FallbackSpeedKmh set, OSRM itself fills
// such cells with a straight-line estimate at that speed (its fallback_speed
// option); without it, or if a null remains, Table fails naming the pair,
// so that the caller can fall back to Haversine for the whole plan rather
// than route trucks through a hole in the table.
type OSRM struct {
	BaseURL string       // e.g. "http://localhost:5000", without the service path
	Client  *http.Client // nil means http.DefaultClient
	// Profile is the routing profile in the URL; "" means "driving".
	Profile string
	// BlockSize is the most sources (and destinations) per request;
	// ≤ 0 means 100.
	BlockSize int
	// FallbackSpeedKmh, when positive, is passed as fallback_speed.
	FallbackSpeedKmh float64
	// Parallel is the most requests in flight; ≤ 0 means 4. A table of
	// 3,000 points is 900 blocks: one at a time, network round trips
	// would dominate.
	Parallel int
}

// Name returns "osrm".
func (OSRM) Name() string { return "osrm" }

// osrmTable is the part of OSRM's table response civic reads.
type osrmTable struct {
	Code      string       `json:"code"`
	Message   string       `json:"message"`
	Durations [][]*float64 `json:"durations"`
	Distances [][]*float64 `json:"distances"`
}

// Table computes the table block by block, Parallel blocks at a time; the
// first failing block cancels the rest and its error, naming the block's
// sources and destinations, is returned.
func (o OSRM) Table(ctx context.Context, points []LatLon) (dist, tm []float64, err error) {
	n := len(points)
	b := o.BlockSize
	if b <= 0 {
		b = 100
	}
	par := o.Parallel
	if par <= 0 {
		par = 4
	}
	dist = make([]float64, n*n)
	tm = make([]float64, n*n)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type blk struct{ si, se, di, de int }
	work := make(chan blk)
	var wg sync.WaitGroup
	for range par {
		wg.Go(func() {
			for k := range work {
				// Blocks write disjoint cells of dist and tm.
				if err := o.block(ctx, points, k.si, k.se, k.di, k.de, n, dist, tm); err != nil {
					cancel(fmt.Errorf("osrm table, sources %d-%d, destinations %d-%d: %w", k.si, k.se-1, k.di, k.de-1, err))
				}
			}
		})
	}
feed:
	for si := 0; si < n; si += b {
		for di := 0; di < n; di += b {
			select {
			case work <- blk{si, min(si+b, n), di, min(di+b, n)}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(work)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, nil, err
	}
	return dist, tm, nil
}

// block fills rows [si,se) × columns [di,de) of the n×n tables.
func (o OSRM) block(ctx context.Context, points []LatLon, si, se, di, de, n int, dist, tm []float64) error {
	// The request's coordinates are the sources, then the destinations
	// that are not sources already (a diagonal block shares them all).
	var coords []LatLon
	var sources, dests []int
	coords = append(coords, points[si:se]...)
	for k := range se - si {
		sources = append(sources, k)
	}
	if si == di && se == de {
		dests = sources
	} else {
		for k := range de - di {
			dests = append(dests, len(coords)+k)
		}
		coords = append(coords, points[di:de]...)
	}
	u := o.url(coords, sources, dests)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	client := o.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return err
	}
	err = decodeTable(resp.StatusCode, body, se-si, de-di, func(r, c int, d, s float64) {
		dist[(si+r)*n+di+c] = d
		tm[(si+r)*n+di+c] = s
	})
	var nr errNoRoute
	if errors.As(err, &nr) {
		return fmt.Errorf("no route from point %d to point %d (set a fallback speed, or use the haversine matrix)", si+nr.r, di+nr.c)
	}
	return err
}

// decodeTable reads an OSRM table answer of rows × cols cells and passes
// each cell's distance and duration to set. It fails on anything but a
// complete "Ok" table; row and column numbers in its errors are the
// block's.
func decodeTable(status int, body []byte, rows, cols int, set func(r, c int, dist, dur float64)) error {
	var t osrmTable
	if err := json.Unmarshal(body, &t); err != nil {
		// A proxy's HTML error page, or a server that is not OSRM.
		return fmt.Errorf("HTTP %d, not an OSRM answer: %w", status, err)
	}
	if t.Code != "Ok" {
		return fmt.Errorf("HTTP %d, code %q: %s", status, t.Code, t.Message)
	}
	if len(t.Durations) != rows || len(t.Distances) != rows {
		return fmt.Errorf("answer has %d duration and %d distance rows, want %d (annotations=distance,duration unsupported?)", len(t.Durations), len(t.Distances), rows)
	}
	for r := range rows {
		if len(t.Durations[r]) != cols || len(t.Distances[r]) != cols {
			return fmt.Errorf("row %d has %d durations and %d distances, want %d", r, len(t.Durations[r]), len(t.Distances[r]), cols)
		}
		for c := range cols {
			d, s := t.Distances[r][c], t.Durations[r][c]
			if d == nil || s == nil {
				return errNoRoute{r, c}
			}
			if !(*d >= 0) || !(*s >= 0) || math.IsInf(*d, 0) || math.IsInf(*s, 0) {
				return fmt.Errorf("cell %d,%d: distance %g, duration %g", r, c, *d, *s)
			}
			set(r, c, *d, *s)
		}
	}
	return nil
}

// errNoRoute is a null cell, in block coordinates.
type errNoRoute struct{ r, c int }

func (e errNoRoute) Error() string {
	return fmt.Sprintf("no route from source %d to destination %d", e.r, e.c)
}

func (o OSRM) url(coords []LatLon, sources, dests []int) string {
	profile := o.Profile
	if profile == "" {
		profile = "driving"
	}
	var sb strings.Builder
	sb.WriteString(strings.TrimRight(o.BaseURL, "/"))
	sb.WriteString("/table/v1/")
	sb.WriteString(profile)
	sb.WriteByte('/')
	for i, p := range coords {
		if i > 0 {
			sb.WriteByte(';')
		}
		// Six decimals is about 0.1 m, finer than any road snap.
		sb.WriteString(strconv.FormatFloat(p.Lon, 'f', 6, 64))
		sb.WriteByte(',')
		sb.WriteString(strconv.FormatFloat(p.Lat, 'f', 6, 64))
	}
	sb.WriteString("?annotations=distance,duration&sources=")
	writeInts(&sb, sources)
	sb.WriteString("&destinations=")
	writeInts(&sb, dests)
	if o.FallbackSpeedKmh > 0 {
		sb.WriteString("&fallback_speed=")
		sb.WriteString(strconv.FormatFloat(o.FallbackSpeedKmh/3.6, 'f', 3, 64))
	}
	return sb.String()
}

func writeInts(sb *strings.Builder, xs []int) {
	for i, x := range xs {
		if i > 0 {
			sb.WriteByte(';')
		}
		sb.WriteString(strconv.Itoa(x))
	}
}
