package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// rowScanner is what *sql.Row and *sql.Rows have in common.
type rowScanner interface{ Scan(dest ...any) error }

// ---- bins ----

const binCols = `b.id, b.serial, b.name, b.lat, b.lon, b.address, b.stream, b.capacity_l, b.compacting, b.model,
	b.zone_id, b.status, b.installed_on, b.full_threshold, b.access_window, b.created_at, b.updated_at`

const stateCols = `st.bin_id, st.device_id, st.time, st.fill, st.temperature_c, st.battery, st.tilt_deg,
	st.door_open, st.fire, st.rssi_dbm, st.updated_at`

const binInsert = `INSERT INTO bins (id, serial, name, lat, lon, address, stream, capacity_l, compacting, model,
	zone_id, status, installed_on, full_threshold, access_window, created_at, updated_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`

func (s *Store) binArgs(b *civic.Bin, created, updated time.Time) []any {
	return []any{b.ID, b.Serial, b.Name, b.Lat, b.Lon, b.Address, string(b.Stream), b.CapacityL, b.Compacting, b.Model,
		nullStr(b.ZoneID), string(b.Status), b.InstalledOn, b.FullThreshold, b.AccessWindow, s.ts(created), s.ts(updated)}
}

func scanBinView(r rowScanner) (civic.BinView, error) {
	var sc binScanner
	return sc.scan(r)
}

// binScanner scans bin rows joined with their state. Its destination list
// is built once and reused for every row of a listing, which matters for
// the live map's 10,000-bin query.
type binScanner struct {
	v    civic.BinView
	zone sql.NullString
	st   stateScan
	dest []any
}

func (sc *binScanner) scan(r rowScanner) (civic.BinView, error) {
	if sc.dest == nil {
		v := &sc.v
		sc.dest = append([]any{&v.ID, &v.Serial, &v.Name, &v.Lat, &v.Lon, &v.Address, &v.Stream, &v.CapacityL,
			&v.Compacting, &v.Model, &sc.zone, &v.Status, &v.InstalledOn, &v.FullThreshold, &v.AccessWindow, scanTime{&v.CreatedAt},
			scanTime{&v.UpdatedAt}}, sc.st.dest()...)
	}
	if err := r.Scan(sc.dest...); err != nil {
		return civic.BinView{}, err
	}
	v := sc.v
	v.ZoneID = sc.zone.String
	v.State = sc.st.state()
	return v, nil
}

// stateScan receives a bin_state row that may be missing (LEFT JOIN).
type stateScan struct {
	binID, device                   sql.NullString
	time, updated                   time.Time
	fill, temp, battery, tilt, rssi sql.NullFloat64
	door, fire                      sql.NullBool
}

func (st *stateScan) dest() []any {
	return []any{&st.binID, &st.device, scanTime{&st.time}, &st.fill, &st.temp, &st.battery, &st.tilt,
		&st.door, &st.fire, &st.rssi, scanTime{&st.updated}}
}

func (st *stateScan) state() *civic.BinState {
	if !st.binID.Valid {
		return nil
	}
	return &civic.BinState{
		BinID: st.binID.String, Device: st.device.String, Time: st.time,
		Fill: fptr(st.fill), TemperatureC: fptr(st.temp), Battery: fptr(st.battery), TiltDeg: fptr(st.tilt),
		DoorOpen: bptr(st.door), Fire: bptr(st.fire), RSSI: fptr(st.rssi), UpdatedAt: st.updated,
	}
}

func fptr(n sql.NullFloat64) *float64 {
	if !n.Valid {
		return nil
	}
	v := n.Float64
	return &v
}

func bptr(n sql.NullBool) *bool {
	if !n.Valid {
		return nil
	}
	v := n.Bool
	return &v
}

// CreateBin stores a new bin; an empty ZoneID is filled with the first zone
// (by id) containing it. Errors: Invalid (validation, or zone_id naming a
// missing zone), Conflict (the id exists).
func (s *Store) CreateBin(ctx context.Context, b *civic.Bin) error {
	b.Normalize()
	if err := b.Validate(); err != nil {
		return err
	}
	now := s.stamp()
	zone := b.ZoneID
	err := s.change(ctx, errCtx{op: "create bin", fkField: "zone_id"}, func(tx *sql.Tx, note func(Forget)) error {
		if err := s.fillZone(ctx, tx, b); err != nil {
			return err
		}
		note(Forget{Kind: ForgetBin, ID: b.ID})
		_, err := tx.ExecContext(ctx, binInsert, s.binArgs(b, now, now)...)
		return err
	})
	if err != nil {
		b.ZoneID = zone
		return err
	}
	b.CreatedAt, b.UpdatedAt = now, now
	return nil
}

// fillZone assigns b to the first zone containing it when b has no zone,
// and checks that a given zone exists.
func (s *Store) fillZone(ctx context.Context, tx *sql.Tx, b *civic.Bin) error {
	if b.ZoneID != "" {
		return mustRef(ctx, tx, "zone_id", "zones", b.ZoneID)
	}
	zones, err := s.loadZones(ctx, tx)
	if err != nil {
		return err
	}
	b.ZoneID = zoneFor(zones, b.Lon, b.Lat)
	return nil
}

func zoneFor(zones []civic.Zone, lon, lat float64) string {
	for _, z := range zones {
		if z.Boundary.Contains(lon, lat) {
			return z.ID
		}
	}
	return ""
}

// UpdateBin replaces a bin's fields; an empty ZoneID is filled as in
// CreateBin. Errors: Invalid, NotFound.
func (s *Store) UpdateBin(ctx context.Context, b *civic.Bin) error {
	b.Normalize()
	if err := b.Validate(); err != nil {
		return err
	}
	now := s.stamp()
	zone := b.ZoneID
	var created time.Time
	err := s.change(ctx, errCtx{op: "update bin", fkField: "zone_id"}, func(tx *sql.Tx, note func(Forget)) error {
		if err := s.fillZone(ctx, tx, b); err != nil {
			return err
		}
		note(Forget{Kind: ForgetBin, ID: b.ID})
		err := tx.QueryRowContext(ctx, `UPDATE bins SET serial = $2, name = $3, lat = $4, lon = $5, address = $6,
			stream = $7, capacity_l = $8, compacting = $9, model = $10, zone_id = $11, status = $12,
			installed_on = $13, full_threshold = $14, access_window = $15, updated_at = $16 WHERE id = $1
			RETURNING created_at`,
			b.ID, b.Serial, b.Name, b.Lat, b.Lon, b.Address, string(b.Stream), b.CapacityL, b.Compacting, b.Model,
			nullStr(b.ZoneID), string(b.Status), b.InstalledOn, b.FullThreshold, b.AccessWindow, s.ts(now)).Scan(scanTime{&created})
		if err == sql.ErrNoRows {
			return notFound("bin", b.ID)
		}
		return err
	})
	if err != nil {
		b.ZoneID = zone
		return err
	}
	b.CreatedAt, b.UpdatedAt = created, now
	return nil
}

// DeleteBin removes a bin and its state; devices mounted on it are
// unmounted and its readings are kept. Errors: NotFound.
func (s *Store) DeleteBin(ctx context.Context, id string) error {
	if err := s.readStates(ctx, "delete bin"); err != nil {
		return err
	}
	return s.change(ctx, errCtx{op: "delete bin", inUse: "bin is still in use"}, func(tx *sql.Tx, note func(Forget)) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM bin_state WHERE bin_id = $1`, id); err != nil {
			return err
		}
		// Devices mounted on it are unmounted (ON DELETE SET NULL).
		mounted, err := listTx(ctx, tx, `SELECT id FROM devices WHERE bin_id = $1 ORDER BY id`,
			func(r rowScanner) (d string, err error) { return d, r.Scan(&d) }, id)
		if err != nil {
			return err
		}
		if err := execOne(ctx, tx, "bin", id, `DELETE FROM bins WHERE id = $1`, id); err != nil {
			return err
		}
		note(Forget{Kind: ForgetBin, ID: id})
		for _, d := range mounted {
			note(Forget{Kind: ForgetDevice, ID: d})
		}
		return nil
	})
}

// Bin returns a bin with its latest state. Errors: NotFound.
func (s *Store) Bin(ctx context.Context, id string) (civic.BinView, error) {
	if err := s.readStates(ctx, "get bin"); err != nil {
		return civic.BinView{}, err
	}
	v, err := scanBinView(s.rdb.QueryRowContext(ctx, `SELECT `+binCols+`, `+stateCols+`
		FROM bins b LEFT JOIN bin_state st ON st.bin_id = b.id WHERE b.id = $1`, id))
	if err == sql.ErrNoRows {
		return v, notFound("bin", id)
	}
	return v, s.fail(errCtx{op: "get bin"}, err)
}

// ListBins returns the bins f selects, ordered by id, with their latest
// state. A fill range only matches bins that have a state. Errors: Invalid
// (a bad bbox or negative limit/offset).
func (s *Store) ListBins(ctx context.Context, f civic.BinFilter) ([]civic.BinView, error) {
	if err := s.readStates(ctx, "list bins"); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.Zone != "" {
		where = append(where, "b.zone_id = "+arg(f.Zone))
	}
	if f.Stream != "" {
		where = append(where, "b.stream = "+arg(string(f.Stream)))
	}
	if f.Status != "" {
		where = append(where, "b.status = "+arg(string(f.Status)))
	}
	if f.MinFill != nil {
		where = append(where, "st.fill >= "+arg(*f.MinFill))
	}
	if f.MaxFill != nil {
		where = append(where, "st.fill <= "+arg(*f.MaxFill))
	}
	if f.BBox != nil {
		if err := f.BBox.Validate(); err != nil {
			return nil, err
		}
		where = append(where, "b.lon >= "+arg(f.BBox.MinLon), "b.lon <= "+arg(f.BBox.MaxLon),
			"b.lat >= "+arg(f.BBox.MinLat), "b.lat <= "+arg(f.BBox.MaxLat))
	}
	if f.Limit < 0 {
		return nil, civic.FieldError("limit", "must not be negative")
	}
	if f.Offset < 0 {
		return nil, civic.FieldError("offset", "must not be negative")
	}
	q := `SELECT ` + binCols + `, ` + stateCols + ` FROM bins b LEFT JOIN bin_state st ON st.bin_id = b.id`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY b.id"
	if f.Limit > 0 {
		q += " LIMIT " + arg(int64(f.Limit))
	} else if f.Offset > 0 {
		q += " LIMIT " + arg(int64(math.MaxInt64))
	}
	if f.Offset > 0 {
		q += " OFFSET " + arg(int64(f.Offset))
	}
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.fail(errCtx{op: "list bins"}, err)
	}
	defer rows.Close()
	out := make([]civic.BinView, 0, min(max(f.Limit, 64), 16384))
	var sc binScanner
	for rows.Next() {
		v, err := sc.scan(rows)
		if err != nil {
			return nil, s.fail(errCtx{op: "list bins"}, err)
		}
		out = append(out, v)
	}
	return out, s.fail(errCtx{op: "list bins"}, rows.Err())
}

// ImportBins creates or replaces bins in one transaction: all or none. Bins
// without a zone get the first zone containing them. Errors: Invalid naming
// the row, e.g. "bins[3].lat" or "bins[3].zone_id".
func (s *Store) ImportBins(ctx context.Context, bins []civic.Bin) error {
	for i := range bins {
		bins[i].Normalize()
		if err := bins[i].Validate(); err != nil {
			return civic.PrefixField(fmt.Sprintf("bins[%d]", i), err)
		}
	}
	now := s.stamp()
	return s.change(ctx, errCtx{op: "import bins"}, func(tx *sql.Tx, note func(Forget)) error {
		note(Forget{Kind: ForgetBin}) // any of them
		zones, err := s.loadZones(ctx, tx)
		if err != nil {
			return err
		}
		known := make(map[string]bool, len(zones))
		for _, z := range zones {
			known[z.ID] = true
		}
		stmt, err := tx.PrepareContext(ctx, binInsert+` ON CONFLICT (id) DO UPDATE SET serial = excluded.serial,
			name = excluded.name, lat = excluded.lat, lon = excluded.lon, address = excluded.address,
			stream = excluded.stream, capacity_l = excluded.capacity_l, compacting = excluded.compacting,
			model = excluded.model, zone_id = excluded.zone_id, status = excluded.status,
			installed_on = excluded.installed_on, full_threshold = excluded.full_threshold,
			access_window = excluded.access_window, updated_at = excluded.updated_at`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range bins {
			b := &bins[i]
			if b.ZoneID == "" {
				b.ZoneID = zoneFor(zones, b.Lon, b.Lat)
			} else if !known[b.ZoneID] {
				return civic.FieldError(fmt.Sprintf("bins[%d].zone_id", i), "%q does not exist", b.ZoneID)
			}
			if _, err := stmt.ExecContext(ctx, s.binArgs(b, now, now)...); err != nil {
				return err
			}
			b.CreatedAt, b.UpdatedAt = now, now
		}
		return nil
	})
}

// ---- devices ----

const deviceCols = `id, kind, bin_id, dev_eui, fill_scale, payload_format, expected_interval_s, firmware, status,
	secret_hash, created_at, updated_at`

func scanDevice(r rowScanner) (civic.Device, error) {
	var d civic.Device
	var bin, eui sql.NullString
	err := r.Scan(&d.ID, &d.Kind, &bin, &eui, &d.FillScale, &d.PayloadFormat, &d.ExpectedInterval, &d.Firmware,
		&d.Status, &d.SecretHash, scanTime{&d.CreatedAt}, scanTime{&d.UpdatedAt})
	d.BinID, d.DevEUI = bin.String, eui.String
	return d, err
}

// CreateDevice stores a new device. Errors: Invalid (validation, or bin_id
// naming a missing bin), Conflict (the id or the DevEUI exists).
func (s *Store) CreateDevice(ctx context.Context, d *civic.Device) error {
	d.Normalize()
	if err := d.Validate(); err != nil {
		return err
	}
	now := s.stamp()
	err := s.change(ctx, errCtx{op: "create device", fkField: "bin_id"}, func(tx *sql.Tx, note func(Forget)) error {
		if err := mustRef(ctx, tx, "bin_id", "bins", d.BinID); err != nil {
			return err
		}
		note(Forget{Kind: ForgetDevice, ID: d.ID}) // ingest caches "no such device" too
		_, err := tx.ExecContext(ctx, `INSERT INTO devices (`+deviceCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			d.ID, d.Kind, nullStr(d.BinID), nullStr(d.DevEUI), string(d.FillScale), d.PayloadFormat,
			int64(d.ExpectedInterval), d.Firmware, string(d.Status), d.SecretHash, s.ts(now), s.ts(now))
		return err
	})
	if err != nil {
		return err
	}
	d.CreatedAt, d.UpdatedAt = now, now
	return nil
}

// UpdateDevice replaces a device's fields. An empty SecretHash keeps the
// stored one (a device decoded from JSON never carries it) and is filled
// in. Errors: Invalid, NotFound, Conflict (the DevEUI belongs to another
// device).
func (s *Store) UpdateDevice(ctx context.Context, d *civic.Device) error {
	d.Normalize()
	if err := d.Validate(); err != nil {
		return err
	}
	now := s.stamp()
	var created time.Time
	var secret string
	err := s.change(ctx, errCtx{op: "update device", fkField: "bin_id"}, func(tx *sql.Tx, note func(Forget)) error {
		if err := mustRef(ctx, tx, "bin_id", "bins", d.BinID); err != nil {
			return err
		}
		note(Forget{Kind: ForgetDevice, ID: d.ID})
		err := tx.QueryRowContext(ctx, `UPDATE devices SET kind = $2, bin_id = $3, dev_eui = $4, fill_scale = $5,
			payload_format = $6, expected_interval_s = $7, firmware = $8, status = $9,
			secret_hash = CASE WHEN $10 = '' THEN secret_hash ELSE $10 END,
			updated_at = $11 WHERE id = $1 RETURNING created_at, secret_hash`,
			d.ID, d.Kind, nullStr(d.BinID), nullStr(d.DevEUI), string(d.FillScale), d.PayloadFormat,
			int64(d.ExpectedInterval), d.Firmware, string(d.Status), d.SecretHash, s.ts(now)).Scan(scanTime{&created}, &secret)
		if err == sql.ErrNoRows {
			return notFound("device", d.ID)
		}
		return err
	})
	if err != nil {
		return err
	}
	d.CreatedAt, d.UpdatedAt, d.SecretHash = created, now, secret
	return nil
}

// DeleteDevice removes a device; its readings are kept. Errors: NotFound.
func (s *Store) DeleteDevice(ctx context.Context, id string) error {
	return s.change(ctx, errCtx{op: "delete device"}, func(tx *sql.Tx, note func(Forget)) error {
		note(Forget{Kind: ForgetDevice, ID: id})
		return execOne(ctx, tx, "device", id, `DELETE FROM devices WHERE id = $1`, id)
	})
}

// Device returns a device. Errors: NotFound.
func (s *Store) Device(ctx context.Context, id string) (civic.Device, error) {
	d, err := scanDevice(s.rdb.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = $1`, id))
	if err == sql.ErrNoRows {
		return d, notFound("device", id)
	}
	return d, s.fail(errCtx{op: "get device"}, err)
}

// DeviceByEUI returns the device with a LoRaWAN DevEUI, given in any case
// with or without colons. Errors: NotFound.
func (s *Store) DeviceByEUI(ctx context.Context, devEUI string) (civic.Device, error) {
	eui := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(devEUI), ":", ""))
	d, err := scanDevice(s.rdb.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE dev_eui = $1`, eui))
	if err == sql.ErrNoRows {
		return d, notFound("device with DevEUI", eui)
	}
	return d, s.fail(errCtx{op: "get device by EUI"}, err)
}

// ListDevices returns every device ordered by id.
func (s *Store) ListDevices(ctx context.Context) ([]civic.Device, error) {
	return list(ctx, s, "list devices", `SELECT `+deviceCols+` FROM devices ORDER BY id`, scanDevice)
}

// ListDevicesPage returns at most limit devices (0: no limit) in id order,
// after skipping offset of them: one page of ListDevices, read from the
// primary key without the rows before it. Errors: Invalid (a negative
// limit or offset).
func (s *Store) ListDevicesPage(ctx context.Context, limit, offset int) ([]civic.Device, error) {
	if limit < 0 {
		return nil, civic.FieldError("limit", "must not be negative")
	}
	if offset < 0 {
		return nil, civic.FieldError("offset", "must not be negative")
	}
	if limit == 0 {
		limit = math.MaxInt64
	}
	return list(ctx, s, "list devices", `SELECT `+deviceCols+` FROM devices ORDER BY id LIMIT $1 OFFSET $2`,
		scanDevice, int64(limit), int64(offset))
}

// list runs a query on the read pool and scans every row.
func list[T any](ctx context.Context, s *Store, op, query string, scan func(rowScanner) (T, error), args ...any) ([]T, error) {
	rows, err := s.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.fail(errCtx{op: op}, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, s.fail(errCtx{op: op}, err)
		}
		out = append(out, v)
	}
	return out, s.fail(errCtx{op: op}, rows.Err())
}

// ---- zones ----

const zoneCols = `id, name, boundary, created_at, updated_at`

func scanZone(r rowScanner) (civic.Zone, error) {
	var z civic.Zone
	var boundary string
	if err := r.Scan(&z.ID, &z.Name, &boundary, scanTime{&z.CreatedAt}, scanTime{&z.UpdatedAt}); err != nil {
		return z, err
	}
	if err := json.Unmarshal([]byte(boundary), &z.Boundary); err != nil {
		return z, fmt.Errorf("zone %s: stored boundary: %w", z.ID, err)
	}
	return z, nil
}

func (s *Store) loadZones(ctx context.Context, q querier) ([]civic.Zone, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+zoneCols+` FROM zones ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []civic.Zone
	for rows.Next() {
		z, err := scanZone(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, z)
	}
	return out, rows.Err()
}

// assignZone gives zone z to the bins without a zone that lie inside it.
func (s *Store) assignZone(ctx context.Context, tx *sql.Tx, z *civic.Zone, now time.Time) error {
	minLon, minLat, maxLon, maxLat := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range z.Boundary {
		if len(p) == 0 {
			continue
		}
		for _, pt := range p[0] {
			minLon, maxLon = math.Min(minLon, pt[0]), math.Max(maxLon, pt[0])
			minLat, maxLat = math.Min(minLat, pt[1]), math.Max(maxLat, pt[1])
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, lon, lat FROM bins WHERE zone_id IS NULL
		AND lon >= $1 AND lon <= $2 AND lat >= $3 AND lat <= $4`, minLon, maxLon, minLat, maxLat)
	if err != nil {
		return err
	}
	var inside []string
	for rows.Next() {
		var id string
		var lon, lat float64
		if err := rows.Scan(&id, &lon, &lat); err != nil {
			rows.Close()
			return err
		}
		if z.Boundary.Contains(lon, lat) {
			inside = append(inside, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range inside {
		if _, err := tx.ExecContext(ctx, `UPDATE bins SET zone_id = $1, updated_at = $2 WHERE id = $3`,
			z.ID, s.ts(now), id); err != nil {
			return err
		}
	}
	return nil
}

// CreateZone stores a zone and assigns it to the bins without a zone inside
// it. Errors: Invalid, Conflict.
func (s *Store) CreateZone(ctx context.Context, z *civic.Zone) error {
	if err := z.Validate(); err != nil {
		return err
	}
	boundary, err := json.Marshal(z.Boundary)
	if err != nil {
		return civic.FieldError("boundary", "cannot be encoded: %v", err)
	}
	now := s.stamp()
	err = s.change(ctx, errCtx{op: "create zone"}, func(tx *sql.Tx, note func(Forget)) error {
		note(Forget{Kind: ForgetZone, ID: z.ID})
		if _, err := tx.ExecContext(ctx, `INSERT INTO zones (`+zoneCols+`) VALUES ($1, $2, $3, $4, $5)`,
			z.ID, z.Name, string(boundary), s.ts(now), s.ts(now)); err != nil {
			return err
		}
		return s.assignZone(ctx, tx, z, now)
	})
	if err != nil {
		return err
	}
	z.CreatedAt, z.UpdatedAt = now, now
	return nil
}

// UpdateZone replaces a zone's name and boundary and assigns it to the bins
// without a zone inside the new boundary; bins already in the zone keep it.
// Errors: Invalid, NotFound.
func (s *Store) UpdateZone(ctx context.Context, z *civic.Zone) error {
	if err := z.Validate(); err != nil {
		return err
	}
	boundary, err := json.Marshal(z.Boundary)
	if err != nil {
		return civic.FieldError("boundary", "cannot be encoded: %v", err)
	}
	now := s.stamp()
	var created time.Time
	err = s.change(ctx, errCtx{op: "update zone"}, func(tx *sql.Tx, note func(Forget)) error {
		note(Forget{Kind: ForgetZone, ID: z.ID})
		err := tx.QueryRowContext(ctx, `UPDATE zones SET name = $2, boundary = $3, updated_at = $4 WHERE id = $1
			RETURNING created_at`, z.ID, z.Name, string(boundary), s.ts(now)).Scan(scanTime{&created})
		if err == sql.ErrNoRows {
			return notFound("zone", z.ID)
		}
		if err != nil {
			return err
		}
		return s.assignZone(ctx, tx, z, now)
	})
	if err != nil {
		return err
	}
	z.CreatedAt, z.UpdatedAt = created, now
	return nil
}

// DeleteZone removes a zone; its bins are left without a zone. Errors:
// NotFound.
func (s *Store) DeleteZone(ctx context.Context, id string) error {
	return s.change(ctx, errCtx{op: "delete zone"}, func(tx *sql.Tx, note func(Forget)) error {
		note(Forget{Kind: ForgetZone, ID: id})
		return execOne(ctx, tx, "zone", id, `DELETE FROM zones WHERE id = $1`, id)
	})
}

// Zone returns a zone. Errors: NotFound.
func (s *Store) Zone(ctx context.Context, id string) (civic.Zone, error) {
	z, err := scanZone(s.rdb.QueryRowContext(ctx, `SELECT `+zoneCols+` FROM zones WHERE id = $1`, id))
	if err == sql.ErrNoRows {
		return z, notFound("zone", id)
	}
	return z, s.fail(errCtx{op: "get zone"}, err)
}

// ListZones returns every zone ordered by id.
func (s *Store) ListZones(ctx context.Context) ([]civic.Zone, error) {
	return list(ctx, s, "list zones", `SELECT `+zoneCols+` FROM zones ORDER BY id`, scanZone)
}

// ---- depots ----

const depotCols = `id, name, lat, lon, address, created_at, updated_at`

func scanDepot(r rowScanner) (civic.Depot, error) {
	var d civic.Depot
	err := r.Scan(&d.ID, &d.Name, &d.Lat, &d.Lon, &d.Address, scanTime{&d.CreatedAt}, scanTime{&d.UpdatedAt})
	return d, err
}

// CreateDepot stores a new depot. Errors: Invalid, Conflict.
func (s *Store) CreateDepot(ctx context.Context, d *civic.Depot) error {
	if err := d.Validate(); err != nil {
		return err
	}
	now := s.stamp()
	err := s.inTx(ctx, errCtx{op: "create depot"}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO depots (`+depotCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			d.ID, d.Name, d.Lat, d.Lon, d.Address, s.ts(now), s.ts(now))
		return err
	})
	if err != nil {
		return err
	}
	d.CreatedAt, d.UpdatedAt = now, now
	return nil
}

// UpdateDepot replaces a depot's fields. Errors: Invalid, NotFound.
func (s *Store) UpdateDepot(ctx context.Context, d *civic.Depot) error {
	if err := d.Validate(); err != nil {
		return err
	}
	now := s.stamp()
	var created time.Time
	err := s.inTx(ctx, errCtx{op: "update depot"}, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE depots SET name = $2, lat = $3, lon = $4, address = $5, updated_at = $6
			WHERE id = $1 RETURNING created_at`, d.ID, d.Name, d.Lat, d.Lon, d.Address, s.ts(now)).Scan(scanTime{&created})
		if err == sql.ErrNoRows {
			return notFound("depot", d.ID)
		}
		return err
	})
	if err != nil {
		return err
	}
	d.CreatedAt, d.UpdatedAt = created, now
	return nil
}

// DeleteDepot removes a depot. Errors: NotFound, Conflict (trucks or crews
// still use it).
func (s *Store) DeleteDepot(ctx context.Context, id string) error {
	return s.inTx(ctx, errCtx{op: "delete depot", inUse: "depot is still used by trucks or crews"}, func(tx *sql.Tx) error {
		return execOne(ctx, tx, "depot", id, `DELETE FROM depots WHERE id = $1`, id)
	})
}

// Depot returns a depot. Errors: NotFound.
func (s *Store) Depot(ctx context.Context, id string) (civic.Depot, error) {
	d, err := scanDepot(s.rdb.QueryRowContext(ctx, `SELECT `+depotCols+` FROM depots WHERE id = $1`, id))
	if err == sql.ErrNoRows {
		return d, notFound("depot", id)
	}
	return d, s.fail(errCtx{op: "get depot"}, err)
}

// ListDepots returns every depot ordered by id.
func (s *Store) ListDepots(ctx context.Context) ([]civic.Depot, error) {
	return list(ctx, s, "list depots", `SELECT `+depotCols+` FROM depots ORDER BY id`, scanDepot)
}

// ---- trucks ----

const truckCols = `id, name, depot_id, capacity_l, compaction_ratio, stream, shift_start, shift_end, status, created_at,
	updated_at`

func scanTruck(r rowScanner) (civic.Truck, error) {
	var t civic.Truck
	err := r.Scan(&t.ID, &t.Name, &t.DepotID, &t.CapacityL, &t.CompactionRatio, &t.Stream, &t.ShiftStart, &t.ShiftEnd, &t.Status,
		scanTime{&t.CreatedAt}, scanTime{&t.UpdatedAt})
	return t, err
}

// CreateTruck stores a new truck. Errors: Invalid (validation, or depot_id
// naming a missing depot), Conflict.
func (s *Store) CreateTruck(ctx context.Context, t *civic.Truck) error {
	t.Normalize()
	if err := t.Validate(); err != nil {
		return err
	}
	now := s.stamp()
	err := s.inTx(ctx, errCtx{op: "create truck", fkField: "depot_id"}, func(tx *sql.Tx) error {
		if err := mustRef(ctx, tx, "depot_id", "depots", t.DepotID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO trucks (`+truckCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			t.ID, t.Name, t.DepotID, t.CapacityL, t.CompactionRatio, string(t.Stream), t.ShiftStart, t.ShiftEnd,
			string(t.Status), s.ts(now), s.ts(now))
		return err
	})
	if err != nil {
		return err
	}
	t.CreatedAt, t.UpdatedAt = now, now
	return nil
}

// UpdateTruck replaces a truck's fields. Errors: Invalid, NotFound.
func (s *Store) UpdateTruck(ctx context.Context, t *civic.Truck) error {
	t.Normalize()
	if err := t.Validate(); err != nil {
		return err
	}
	now := s.stamp()
	var created time.Time
	err := s.inTx(ctx, errCtx{op: "update truck", fkField: "depot_id"}, func(tx *sql.Tx) error {
		if err := mustRef(ctx, tx, "depot_id", "depots", t.DepotID); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `UPDATE trucks SET name = $2, depot_id = $3, capacity_l = $4, stream = $5,
			shift_start = $6, shift_end = $7, status = $8, compaction_ratio = $9, updated_at = $10 WHERE id = $1
			RETURNING created_at`,
			t.ID, t.Name, t.DepotID, t.CapacityL, string(t.Stream), t.ShiftStart, t.ShiftEnd, string(t.Status),
			t.CompactionRatio, s.ts(now)).Scan(scanTime{&created})
		if err == sql.ErrNoRows {
			return notFound("truck", t.ID)
		}
		return err
	})
	if err != nil {
		return err
	}
	t.CreatedAt, t.UpdatedAt = created, now
	return nil
}

// DeleteTruck removes a truck; crews assigned to it keep no truck. Errors:
// NotFound.
func (s *Store) DeleteTruck(ctx context.Context, id string) error {
	return s.inTx(ctx, errCtx{op: "delete truck", inUse: "truck is still in use"}, func(tx *sql.Tx) error {
		return execOne(ctx, tx, "truck", id, `DELETE FROM trucks WHERE id = $1`, id)
	})
}

// Truck returns a truck. Errors: NotFound.
func (s *Store) Truck(ctx context.Context, id string) (civic.Truck, error) {
	t, err := scanTruck(s.rdb.QueryRowContext(ctx, `SELECT `+truckCols+` FROM trucks WHERE id = $1`, id))
	if err == sql.ErrNoRows {
		return t, notFound("truck", id)
	}
	return t, s.fail(errCtx{op: "get truck"}, err)
}

// ListTrucks returns every truck ordered by id.
func (s *Store) ListTrucks(ctx context.Context) ([]civic.Truck, error) {
	return list(ctx, s, "list trucks", `SELECT `+truckCols+` FROM trucks ORDER BY id`, scanTruck)
}

// ---- crews ----

const crewCols = `id, name, depot_id, truck_id, members, created_at, updated_at`

func scanCrew(r rowScanner) (civic.Crew, error) {
	var c civic.Crew
	var depot, truck sql.NullString
	var members string
	if err := r.Scan(&c.ID, &c.Name, &depot, &truck, &members, scanTime{&c.CreatedAt}, scanTime{&c.UpdatedAt}); err != nil {
		return c, err
	}
	c.DepotID, c.TruckID = depot.String, truck.String
	if err := json.Unmarshal([]byte(members), &c.Members); err != nil {
		return c, fmt.Errorf("crew %s: stored members: %w", c.ID, err)
	}
	if c.Members == nil {
		c.Members = []string{}
	}
	return c, nil
}

func crewMembers(c *civic.Crew) string {
	if len(c.Members) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(c.Members) // a []string always encodes
	return string(b)
}

func crewRefs(ctx context.Context, tx *sql.Tx, c *civic.Crew) error {
	if err := mustRef(ctx, tx, "depot_id", "depots", c.DepotID); err != nil {
		return err
	}
	return mustRef(ctx, tx, "truck_id", "trucks", c.TruckID)
}

// CreateCrew stores a new crew. Errors: Invalid (validation, or depot_id or
// truck_id naming a missing row), Conflict.
func (s *Store) CreateCrew(ctx context.Context, c *civic.Crew) error {
	if err := c.Validate(); err != nil {
		return err
	}
	now := s.stamp()
	err := s.inTx(ctx, errCtx{op: "create crew", fkField: "depot_id"}, func(tx *sql.Tx) error {
		if err := crewRefs(ctx, tx, c); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO crews (`+crewCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			c.ID, c.Name, nullStr(c.DepotID), nullStr(c.TruckID), crewMembers(c), s.ts(now), s.ts(now))
		return err
	})
	if err != nil {
		return err
	}
	c.CreatedAt, c.UpdatedAt = now, now
	return nil
}

// UpdateCrew replaces a crew's fields. Errors: Invalid, NotFound.
func (s *Store) UpdateCrew(ctx context.Context, c *civic.Crew) error {
	if err := c.Validate(); err != nil {
		return err
	}
	now := s.stamp()
	var created time.Time
	err := s.inTx(ctx, errCtx{op: "update crew", fkField: "depot_id"}, func(tx *sql.Tx) error {
		if err := crewRefs(ctx, tx, c); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `UPDATE crews SET name = $2, depot_id = $3, truck_id = $4, members = $5,
			updated_at = $6 WHERE id = $1 RETURNING created_at`,
			c.ID, c.Name, nullStr(c.DepotID), nullStr(c.TruckID), crewMembers(c), s.ts(now)).Scan(scanTime{&created})
		if err == sql.ErrNoRows {
			return notFound("crew", c.ID)
		}
		return err
	})
	if err != nil {
		return err
	}
	c.CreatedAt, c.UpdatedAt = created, now
	return nil
}

// DeleteCrew removes a crew. Errors: NotFound.
func (s *Store) DeleteCrew(ctx context.Context, id string) error {
	return s.inTx(ctx, errCtx{op: "delete crew"}, func(tx *sql.Tx) error {
		return execOne(ctx, tx, "crew", id, `DELETE FROM crews WHERE id = $1`, id)
	})
}

// Crew returns a crew. Errors: NotFound.
func (s *Store) Crew(ctx context.Context, id string) (civic.Crew, error) {
	c, err := scanCrew(s.rdb.QueryRowContext(ctx, `SELECT `+crewCols+` FROM crews WHERE id = $1`, id))
	if err == sql.ErrNoRows {
		return c, notFound("crew", id)
	}
	return c, s.fail(errCtx{op: "get crew"}, err)
}

// ListCrews returns every crew ordered by id.
func (s *Store) ListCrews(ctx context.Context) ([]civic.Crew, error) {
	return list(ctx, s, "list crews", `SELECT `+crewCols+` FROM crews ORDER BY id`, scanCrew)
}
