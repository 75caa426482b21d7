package auth

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"strings"
	"sync"
)

// commonPasswordsGz is the list of passwords attackers try first (see
// common-passwords.NOTICE for its source and licence): a password on it
// is refused whatever its length.
//
//go:embed common-passwords.txt.gz
var commonPasswordsGz []byte

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	zr, err := gzip.NewReader(bytes.NewReader(commonPasswordsGz))
	if err != nil {
		panic("auth: embedded password list: " + err.Error())
	}
	set := make(map[string]struct{}, 50000)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		if w := sc.Text(); w != "" {
			set[w] = struct{}{}
		}
	}
	if err := sc.Err(); err != nil || len(set) < 10000 {
		panic("auth: embedded password list is damaged")
	}
	return set
})

// IsCommonPassword reports whether pw, ignoring case, is on the list of
// common (breached) passwords shipped with civic.
func IsCommonPassword(pw string) bool {
	_, ok := commonPasswords()[strings.ToLower(pw)]
	return ok
}
