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
// perTx <= 0): on SQLite with multi-row prepared INSERTs straight into
// readings_main, the table under the view readings (repeats of a stored
// key are ignored), on PostgreSQL with COPY (a repeated key
// fails the transaction). It keeps no duplicate counts, no bin state and no
// bin_devices rows (so bin history does not see these readings): it
// measures the raw driver limit that the benchmarks compare WriteReadings
// against. engine is EngineSQLite or EnginePostgres; db is typically
// (*Store).DB(). On SQLite, a Store writing readings to the same database
// at the same time does not see these rows' times (sqliteWriter.mainNewest)
// and may store a resend of one of them a second time: the benchmarks give
// RawInsert a database of its own, or write before the server starts.
// Errors are returned as the driver reports them.
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

// rawSQLite inserts with the fastest plain technique the driver offers:
// multi-row INSERT statements of chunkRows rows, prepared once per
// transaction, into the table readings end up in (WriteReadings stores
// them in readings_recent first and moves them there later, and keeps
// duplicate counts and the bin state).
func rawSQLite(ctx context.Context, db *sql.DB, rows []civic.Reading) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmts := make(map[int]*sql.Stmt, len(chunkSizes))
	for _, n := range chunkSizes {
		st, err := tx.PrepareContext(ctx, rawInsertHead+sqliteValues(n, readingParams, ""))
		if err != nil {
			return err
		}
		defer st.Close()
		stmts[n] = st
	}
	args := make([]any, 0, chunkRows*readingParams)
	for i := 0; i < len(rows); {
		n := chunkFor(len(rows) - i)
		args = args[:0]
		for _, r := range rows[i : i+n] {
			args = append(args, r.Device, r.Time.UnixMilli(), nullStr(r.Bin), fval(r.Fill),
				fval(r.TemperatureC), fval(r.Battery), fval(r.TiltDeg), ival(r.Compactions), bval(r.DoorOpen),
				bval(r.Fire), fval(r.DistanceMM), fval(r.RSSI), fval(r.SNR), r.Time.UnixMilli())
		}
		if _, err := stmts[n].ExecContext(ctx, args...); err != nil {
			return err
		}
		i += n
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
