package auth

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// secretName matches the names of values that hold secrets or their hashes.
var secretName = regexp.MustCompile(`(?i)(secret|token|hash|password|passwd|csrf|apikey|signature)`)

// TestSecretsComparedInConstantTime scans civic's Go code (tests aside) for
// == or != between a secret-named value and anything but an empty string,
// nil or a constant: secrets are compared with crypto/subtle or hmac.Equal,
// whose time does not depend on where the first difference is.
func TestSecretsComparedInConstantTime(t *testing.T) {
	root := filepath.Join("..", "..")
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "web" && filepath.Dir(path) == root || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			b, ok := n.(*ast.BinaryExpr)
			if !ok || (b.Op != token.EQL && b.Op != token.NEQ) {
				return true
			}
			if harmless(b.X) || harmless(b.Y) {
				return true
			}
			if secretOperand(b.X) || secretOperand(b.Y) {
				t.Errorf("%s: %s compared with %s: use subtle.ConstantTimeCompare or hmac.Equal", fset.Position(b.Pos()), exprString(b.X), exprString(b.Y))
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("scanned only %d files: is the walk broken?", files)
	}
}

// harmless operands make a comparison that reveals nothing: literals, nil,
// constants by convention (Kind values), lengths.
func harmless(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.Ident:
		return x.Name == "nil" || x.Name == "true" || x.Name == "false"
	case *ast.CallExpr:
		if id, ok := x.Fun.(*ast.Ident); ok && id.Name == "len" {
			return true
		}
	case *ast.SelectorExpr:
		// Package-level constants and kinds: civic.SubWebhook, sql.ErrNoRows.
		if id, ok := x.X.(*ast.Ident); ok && id.Obj == nil && len(x.Sel.Name) > 0 && x.Sel.Name[0] >= 'A' && x.Sel.Name[0] <= 'Z' && !secretName.MatchString(x.Sel.Name) {
			return true
		}
	}
	return false
}

func secretOperand(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.Ident:
		return secretName.MatchString(x.Name)
	case *ast.SelectorExpr:
		return secretName.MatchString(x.Sel.Name)
	case *ast.IndexExpr:
		return secretOperand(x.X)
	case *ast.CallExpr:
		if s, ok := x.Fun.(*ast.SelectorExpr); ok {
			return secretName.MatchString(s.Sel.Name) && !strings.HasPrefix(s.Sel.Name, "New")
		}
	}
	return false
}

func exprString(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return exprString(x.X) + "." + x.Sel.Name
	case *ast.CallExpr:
		return exprString(x.Fun) + "(…)"
	}
	return "expression"
}
