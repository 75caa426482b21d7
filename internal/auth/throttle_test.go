package auth

import (
	"context"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/storetest"
)

// TestLoginThrottle: five failures lock a name for 15 minutes, an existing
// one and an unknown one alike, with the same answer, even for the right
// password; 20 failures from one address lock the address for every name;
// a success clears the name's count.
func TestLoginThrottle(t *testing.T) {
	clk := storetest.NewClock(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	s := New(newMem(), Options{Now: clk.Now, Params: TestParams})
	bg := context.Background()
	if _, err := s.CreateUser(bg, "ana", civic.RoleAnalyst, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	from := func(addr string) context.Context { return civic.WithClientAddr(bg, addr) }
	login := func(ctx context.Context, name, pw string) error {
		_, _, _, err := s.Login(ctx, name, pw)
		return err
	}

	// Mistakes, then a success: the count starts again.
	for range 4 {
		if err := login(from("192.0.2.1"), "ana", "wrong"); !civic.IsKind(err, civic.Unauthorized) {
			t.Fatalf("wrong password: %v", err)
		}
	}
	if err := login(from("192.0.2.1"), "ana", "correct horse battery"); err != nil {
		t.Fatalf("fifth try, right password: %v", err)
	}

	// Five failures for an existing and for an unknown name, from many
	// addresses: both names locked, with the same message.
	var msgs []string
	for _, name := range []string{"ana", "nobody"} {
		for i := range 5 {
			login(from("198.51.100."+string(rune('1'+i))), name, "wrong")
		}
		err := login(from("203.0.113.9"), name, "correct horse battery")
		if !civic.IsKind(err, civic.Unavailable) {
			t.Fatalf("%s after 5 failures, right password: %v, want locked", name, err)
		}
		msgs = append(msgs, civic.MessageOf(err))
	}
	if msgs[0] != msgs[1] {
		t.Errorf("locked answers differ, telling which account exists: %q vs %q", msgs[0], msgs[1])
	}
	clk.Advance(16 * time.Minute)
	if err := login(from("203.0.113.9"), "ana", "correct horse battery"); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}

	// One address guessing many names: locked after 20, for every name.
	for i := range 20 {
		login(from("192.0.2.200"), "guess"+string(rune('a'+i)), "wrong")
	}
	if err := login(from("192.0.2.200"), "ana", "correct horse battery"); !civic.IsKind(err, civic.Unavailable) {
		t.Fatalf("address after 20 failures: %v, want locked", err)
	}
	if err := login(from("192.0.2.201"), "ana", "correct horse battery"); err != nil {
		t.Fatalf("another address meanwhile: %v", err)
	}
}
