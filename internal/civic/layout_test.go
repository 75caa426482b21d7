package civic_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/civic-city/civic/"

// packageImports parses the non-test Go files of every package under
// internal/ and returns, per package directory, its doc comment presence and
// the module-internal packages it imports.
func packageImports(t *testing.T) map[string]struct {
	doc     bool
	imports map[string]bool
	std     map[string]bool
} {
	t.Helper()
	root := ".."
	out := map[string]struct {
		doc     bool
		imports map[string]bool
		std     map[string]bool
	}{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() || strings.Contains(path, "testdata") || strings.Contains(path, "node_modules") {
			return nil
		}
		files, _ := filepath.Glob(filepath.Join(path, "*.go"))
		var pkg = struct {
			doc     bool
			imports map[string]bool
			std     map[string]bool
		}{imports: map[string]bool{}, std: map[string]bool{}}
		n := 0
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			n++
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly|parser.ParseComments)
			if err != nil {
				return err
			}
			if af.Doc != nil && strings.HasPrefix(af.Doc.Text(), "Package ") {
				pkg.doc = true
			}
			for _, imp := range af.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if strings.HasPrefix(p, module) {
					pkg.imports[strings.TrimPrefix(p, module+"internal/")] = true
				} else if !strings.Contains(strings.SplitN(p, "/", 2)[0], ".") {
					pkg.std[p] = true
				} else {
					pkg.imports["ext:"+p] = true
				}
			}
		}
		if n > 0 {
			rel, _ := filepath.Rel(root, path)
			out[filepath.ToSlash(rel)] = pkg
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLayout enforces the dependency rules of DESIGN.md: the domain package
// and internal/lifecycle import only the standard library, the route solver
// and the forecasts know nothing of the rest, adapters do not import each
// other, nothing but cmd/civic imports the benchmark harnesses, only tests
// import internal/storetest, and every package says what it is for.
func TestLayout(t *testing.T) {
	pkgs := packageImports(t)
	if len(pkgs) < 5 {
		t.Fatalf("found only %d packages under internal/: is the walk broken?", len(pkgs))
	}
	adapters := []string{"store", "mqtt", "server", "web"}
	for name, p := range pkgs {
		if !p.doc {
			t.Errorf("package internal/%s has no package doc comment", name)
		}
		for imp := range p.imports {
			switch {
			case name == "civic":
				t.Errorf("internal/civic imports %s: it may import only the standard library", imp)
			case imp == "storetest":
				t.Errorf("internal/%s imports internal/storetest outside its tests: only _test files may", name)
			case name == "lifecycle":
				t.Errorf("internal/lifecycle imports %s: it is a leaf package that imports only the standard library", imp)
			case (name == "route" || name == "forecast") && imp != "civic" && imp != "lifecycle":
				t.Errorf("internal/%s imports %s: a pure algorithm imports only the standard library, internal/civic and internal/lifecycle", name, imp)
			case name == "plan" && imp != "civic" && imp != "route" && imp != "lifecycle":
				t.Errorf("internal/plan imports %s: the planner imports only the standard library, internal/civic, internal/route and internal/lifecycle", imp)
			case imp == "bench":
				t.Errorf("internal/%s imports internal/bench: only cmd/civic runs the benchmark harnesses", name)
			case name == "retention" && imp != "civic" && imp != "lifecycle":
				t.Errorf("internal/retention imports %s: the retention job imports only the standard library, internal/civic and internal/lifecycle", imp)
			case name == "opendata" && imp != "civic" && imp != "assets" && imp != "httperr":
				t.Errorf("internal/opendata imports %s: the open data portal imports only internal/civic, internal/assets (FIWARE entities) and internal/httperr; it reads the store through civic.DataStore", imp)
			case name == "open311" && imp != "civic" && imp != "lifecycle" && !strings.HasPrefix(imp, "ext:"):
				t.Errorf("internal/open311 imports internal/%s: the 311 desk and GeoReport handler import only internal/civic and internal/lifecycle of ours (cmd/civic wires them to the store and the server)", imp)
			case name == "httperr" && imp != "civic":
				t.Errorf("internal/httperr imports %s: the table of statuses both HTTP adapters share imports only the standard library and internal/civic", imp)
			}
			for _, a := range adapters {
				if imp == a && name != a {
					for _, b := range adapters {
						if name == b {
							t.Errorf("adapter internal/%s imports adapter internal/%s: cmd/civic wires them", name, a)
						}
					}
				}
			}
		}
	}
}

// TestStoretestOnlyInTests: internal/storetest, the tests' scratch stores
// and clock, is imported by _test files only, under internal/ (TestLayout)
// and in cmd/.
func TestStoretestOnlyInTests(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "cmd", "*", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files under cmd/ (%v): is the walk broken?", err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == module+"internal/storetest" {
				t.Errorf("%s imports internal/storetest: only _test files may", filepath.ToSlash(f))
			}
		}
	}
}
