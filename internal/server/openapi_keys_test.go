package server_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/civic-city/civic/internal/server"
)

// TestOpenAPINoDuplicateKeys: no object of openapi.json names a key
// twice. JSON parsers keep one of the two silently (the document once
// had two "prizes" properties, one without its description), so the
// validator cannot see it.
func TestOpenAPINoDuplicateKeys(t *testing.T) {
	if dups := duplicateKeys(server.OpenAPIDocument()); len(dups) > 0 {
		t.Errorf("openapi.json repeats keys: %s", strings.Join(dups, ", "))
	}
	// The check itself finds a repeated key, at any depth.
	if dups := duplicateKeys([]byte(`{"a": {"b": [{"c": 1, "c": 2}]}, "d": 3}`)); len(dups) != 1 || dups[0] != "/a/b/0/c" {
		t.Errorf("duplicateKeys missed a repeated key: %v", dups)
	}
}

// duplicateKeys returns the JSON pointers of the keys doc repeats within
// one object, or the parse error as one entry.
func duplicateKeys(doc []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(doc))
	var dups []string
	var value func(path string) error
	value = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key := k.(string)
				if seen[key] {
					dups = append(dups, path+"/"+key)
				}
				seen[key] = true
				if err := value(path + "/" + key); err != nil {
					return err
				}
			}
			_, err = dec.Token() // '}'
			return err
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := value(path + "/" + strconv.Itoa(i)); err != nil {
					return err
				}
			}
			_, err = dec.Token() // ']'
			return err
		}
		return nil
	}
	if err := value(""); err != nil && !errors.Is(err, io.EOF) {
		return []string{"parse error: " + err.Error()}
	}
	return dups
}
