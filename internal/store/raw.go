package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/civic-city/civic/internal/civic"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// RawInsert inserts readings into the readings table of a civic database
// through the plain driver, perTx rows per transaction (all in one when
// perTx <= 0): on SQLite with a simple single-row prepared INSERT (repeats
// of a stored key are ignored), on PostgreSQL with COPY (a repeated key
// fails the transaction). It keeps no duplicate counts and no bin state: it
// measures the raw driver limit that the benchmarks compare WriteReadings
// against. engine is EngineSQLite or EnginePostgres; db is typically
// (*Store).DB(). Errors are returned as the driver reports them.
func RawInsert(ctx context.Context, db *sql.DB, engine string, readings []civic.Reading, perTx int) error {
	if perTx <= 0 {
		perTx = len(readings)
	}
	for start := 0; start < len(readings); start += perTx {
		end := min(start+perTx, len(readings))
		var err error
		switch engine {
		case EngineSQLite:
			err = rawSQLite(ctx, db, readings[start:end])
		case EnginePostgres:
			err = rawPostgres(ctx, db, readings[start:end])
		default:
			return fmt.Errorf("store: raw insert: unknown engine %q", engine)
		}
		if err != nil {
			return fmt.Errorf("store: raw insert: %w", err)
		}
	}
	return nil
}

func rawSQLite(ctx context.Context, db *sql.DB, rows []civic.Reading) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO readings (device_id, time, bin_id, fill, temperature_c, battery,
		tilt_deg, compactions, door_open, fire, distance_mm, rssi_dbm, snr_db, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, time) DO NOTHING`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := range rows {
		r := &rows[i]
		if _, err := stmt.ExecContext(ctx, r.Device, r.Time.UnixMilli(), nullStr(r.Bin), fval(r.Fill),
			fval(r.TemperatureC), fval(r.Battery), fval(r.TiltDeg), ival(r.Compactions), bval(r.DoorOpen),
			bval(r.Fire), fval(r.DistanceMM), fval(r.RSSI), fval(r.SNR), r.Time.UnixMilli()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func rawPostgres(ctx context.Context, db *sql.DB, rows []civic.Reading) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		tx, err := pc.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"readings"}, []string{"device_id", "time", "bin_id", "fill",
			"temperature_c", "battery", "tilt_deg", "compactions", "door_open", "fire", "distance_mm", "rssi_dbm",
			"snr_db", "received_at"},
			pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
				r := &rows[i]
				return []any{r.Device, r.Time, nullStr(r.Bin), r.Fill, r.TemperatureC, r.Battery, r.TiltDeg,
					r.Compactions, r.DoorOpen, r.Fire, r.DistanceMM, r.RSSI, r.SNR, r.Time}, nil
			}))
		if err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
}
