package auth

import (
	"testing"

	"github.com/civic-city/civic/internal/civic"
)

func TestPasswordPolicy(t *testing.T) {
	for pw, want := range map[string]bool{
		"short":                         false, // too short
		"qwertyuiop":                    false, // common
		"1234567890":                    false,
		"Password123":                   false, // common, whatever the case
		"basketball":                    false,
		"correct horse battery":         true,
		"a long and unusual passphrase": true,
		"Zq8-mirrored-lantern-47":       true,
	} {
		err := CheckPassword(pw)
		if (err == nil) != want {
			t.Errorf("CheckPassword(%q) = %v, want accepted %v", pw, err, want)
		}
		if err != nil && civic.FieldOf(err) != "password" {
			t.Errorf("CheckPassword(%q): field %q", pw, civic.FieldOf(err))
		}
	}
	if n := len(commonPasswords()); n < 40000 {
		t.Errorf("the embedded list has %d passwords", n)
	}
}
