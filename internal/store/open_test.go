package store_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

func TestReopenKeepsData(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			dsn := newDSN(t, engine)
			s := openStore(t, dsn, nil)
			must(t, "CreateBin", s.CreateBin(ctx, testBin("B-1", 52.5, 13.4)))
			_, err := s.WriteReadings(ctx, [][]civic.Reading{{{Device: "D-1", Bin: "B-1", Time: t0, Fill: f64(0.4)}}})
			must(t, "WriteReadings", err)
			must(t, "Close", s.Close())

			s = openStore(t, dsn, nil)
			b, err := s.Bin(ctx, "B-1")
			must(t, "Bin after reopen", err)
			if b.State == nil || *b.State.Fill != 0.4 {
				t.Errorf("state after reopen = %+v", b.State)
			}
			res, err := s.WriteReadings(ctx, [][]civic.Reading{{{Device: "D-1", Bin: "B-1", Time: t0, Fill: f64(0.4)}}})
			must(t, "WriteReadings after reopen", err)
			if res[0].Duplicates != 1 {
				t.Errorf("resent reading after reopen: %+v, want a duplicate", res[0])
			}
			must(t, "Ping", s.Ping(ctx))
		})
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			dsn := newDSN(t, engine)
			s := openStore(t, dsn, nil)
			newer := store.SchemaVersion(engine) + 1
			if _, err := s.DB().ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, newer); err != nil {
				t.Fatalf("bump schema version: %v", err)
			}
			must(t, "Close", s.Close())

			s2, err := store.Open(ctx, dsn, store.Options{})
			if err == nil {
				s2.Close()
				t.Fatal("Open accepted a database with a newer schema")
			}
			wantKind(t, "Open newer schema", err, civic.Unavailable)
			if !strings.Contains(err.Error(), "upgrade civic") {
				t.Errorf("error %q does not tell the operator what to do", err)
			}
		})
	}
}

func TestOpenMemory(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "sqlite::memory:", nil)
	must(t, "CreateBin", s.CreateBin(ctx, testBin("B-1", 52.5, 13.4)))
	_, err := s.WriteReadings(ctx, [][]civic.Reading{{{Device: "D-1", Bin: "B-1", Time: t0, Fill: f64(0.4)}}})
	must(t, "WriteReadings", err)
	b, err := s.Bin(ctx, "B-1")
	must(t, "Bin", err)
	if b.State == nil {
		t.Error("in-memory store lost the bin state")
	}
}

func TestOpenUnreachablePostgres(t *testing.T) {
	ctx := context.Background()
	_, err := store.Open(ctx, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", store.Options{})
	wantKind(t, "Open unreachable", err, civic.Unavailable)
}

// TestSurvivesKill checks what WAL with synchronous=NORMAL promises: a
// reading acknowledged by WriteReadings survives a SIGKILL of the process.
// A child process (this test binary, running TestKillChild) ingests until
// it is killed mid-stream.
func TestSurvivesKill(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "civic.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$")
	cmd.Env = append(os.Environ(), "CIVIC_STORE_KILL_DSN="+dsn)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
			acked, _ = strconv.Atoi(n)
			if acked >= 20_000 {
				break
			}
		}
	}
	cmd.Process.Kill() // SIGKILL: no deferred Close, no checkpoint
	cmd.Wait()
	if acked < 20_000 {
		t.Fatalf("child acknowledged only %d readings before it stopped", acked)
	}

	s := openStore(t, dsn, nil)
	got, err := s.Readings(context.Background(), civic.ReadingQuery{Device: "K-1"})
	must(t, "Readings", err)
	if len(got) < acked {
		t.Errorf("after SIGKILL: %d readings stored, %d were acknowledged", len(got), acked)
	}
}

// TestKillChild is the child process of TestSurvivesKill.
func TestKillChild(t *testing.T) {
	dsn := os.Getenv("CIVIC_STORE_KILL_DSN")
	if dsn == "" {
		t.Skip("helper process of TestSurvivesKill")
	}
	ctx := context.Background()
	s, err := store.Open(ctx, dsn, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for {
		batch := make([]civic.Reading, 1000)
		for i := range batch {
			batch[i] = civic.Reading{Device: "K-1", Bin: "B-1", Time: t0.Add(time.Duration(total+i) * time.Second), Fill: f64(0.5)}
		}
		if _, err := s.WriteReadings(ctx, [][]civic.Reading{batch}); err != nil {
			t.Fatal(err)
		}
		total += len(batch)
		fmt.Printf("committed %d\n", total)
	}
}
