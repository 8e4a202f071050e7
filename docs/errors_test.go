// Package docs has no code: its tests keep the documentation in this
// directory in step with the source.
package docs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const (
	moduleRoot = ".."
	errorsDoc  = "errors.md"
	faultPath  = "github.com/tollgate/tollgate/fault"
)

// faultCodeArg is the index of the code argument of each fault
// constructor.
var faultCodeArg = map[string]int{
	"Invalidf": 1, "NotFoundf": 0, "Conflictf": 0, "Forbiddenf": 0,
	"Unauthenticatedf": 0, "New": 1, "Wrap": 1,
}

// codeHelpers are functions outside fault whose argument is a code:
// httpapi's gateway problems are written without a fault.Error.
var codeHelpers = map[string]int{"gatewayProblem": 1}

// dynamicCodes are the codes no constant declares because they are built at
// run time, each with the file that builds it (the only file allowed to build
// a code from a string literal) and why.
var dynamicCodes = map[string]struct{ file, reason string }{
	"invalid_client_secret": {"secret/secret.go",
		`secret.Parse's errors are "invalid_"+what; serviceaccount passes what = "client_secret" ` +
			`(and answers invalid_client instead; the code is internal)`},
}

// Sections of errors.md whose rows are not compared with fault.Code
// constants.
const (
	// RFC 6749 error objects (oauth.Error); oauth has no constants to
	// compare them with, and their anchors are oauth-<error>.
	oauthSection = "OAuth token endpoint"
	// Codes the Go SDK adds to the server's: compared with the SDK's own.
	sdkSection = "Go SDK"
)

// A declared code: a constant, or a dynamic code with the file building it.
type declared struct{ name, pos string }

type source struct {
	server map[string]declared // fault.Code constants outside sdk/, and dynamicCodes
	sdk    map[string]declared // fault.Code constants and Code… string constants in sdk/
}

// TestErrorsDocListsEveryCode checks that docs/errors.md describes exactly the
// codes the source can produce, and that every code is a constant: a string
// literal passed to a fault constructor (or fault.Error{Code: …}) fails.
func TestErrorsDocListsEveryCode(t *testing.T) {
	src := scanSource(t)
	doc := docCodes(t)

	var missing, stale []string
	for code, d := range src.server {
		if _, ok := doc.server[code]; !ok {
			missing = append(missing, code+" ("+d.name+", "+d.pos+")")
		}
	}
	for code, line := range doc.server {
		if _, ok := src.server[code]; !ok {
			stale = append(stale, code+" ("+errorsDoc+":"+strconv.Itoa(line)+")")
		}
	}
	// The SDK's section lists the codes the SDK has and the server does
	// not; the others are documented with the server's.
	for code, d := range src.sdk {
		_, inServer := src.server[code]
		_, inSDK := doc.sdk[code]
		if !inServer && !inSDK {
			missing = append(missing, code+" (SDK: "+d.name+", "+d.pos+"; in the "+sdkSection+" section)")
		}
		if inServer && inSDK {
			stale = append(stale, code+" ("+errorsDoc+":"+strconv.Itoa(doc.sdk[code])+": a server code, listed in the "+sdkSection+" section)")
		}
	}
	for code, line := range doc.sdk {
		if _, ok := src.sdk[code]; !ok {
			stale = append(stale, code+" ("+errorsDoc+":"+strconv.Itoa(line)+": not an SDK code)")
		}
	}
	slices.Sort(missing)
	slices.Sort(stale)
	if len(missing) > 0 {
		t.Errorf("%d codes are missing from docs/%s; add a row to the right table:\n\t%s",
			len(missing), errorsDoc, strings.Join(missing, "\n\t"))
	}
	if len(stale) > 0 {
		t.Errorf("%d codes in docs/%s no longer exist; remove their rows:\n\t%s",
			len(stale), errorsDoc, strings.Join(stale, "\n\t"))
	}
	if len(src.server) < 100 {
		t.Errorf("found only %d server codes; is the scan broken?", len(src.server))
	}
}

// scanSource parses the module's non-test Go files (testdata and examples/
// skipped) and collects the declared codes, failing on literal codes.
func scanSource(t *testing.T) source {
	t.Helper()
	src := source{server: map[string]declared{}, sdk: map[string]declared{}}
	fset := token.NewFileSet()
	derived := map[string]string{} // codes secret.Parse builds → where
	err := filepath.WalkDir(moduleRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, moduleRoot+string(filepath.Separator)))
		if d.IsDir() {
			if name := d.Name(); path != moduleRoot && (name == "testdata" || rel == "examples" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		inSDK := strings.HasPrefix(rel, "sdk/")
		into := src.server
		if inSDK {
			into = src.sdk
		}
		faultName := importName(f, faultPath)
		for code, d := range codeConstants(fset, f, faultName, inSDK) {
			if prev, dup := into[code]; dup && !inSDK {
				t.Errorf("code %q is declared twice: %s (%s) and %s (%s); one code, one owner", code, prev.name, prev.pos, d.name, d.pos)
			}
			into[code] = d
		}
		checkCodeArgs(t, fset, f, faultName, rel)
		if !inSDK {
			secretParseCodes(fset, f, derived)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for code, dc := range dynamicCodes {
		if prev, dup := src.server[code]; dup {
			t.Errorf("dynamic code %q is also a constant, %s (%s); drop it from dynamicCodes", code, prev.name, prev.pos)
		}
		if _, ok := derived[code]; !ok {
			t.Errorf("dynamic code %q is no longer built (%s); drop it from dynamicCodes", code, dc.reason)
		}
		src.server[code] = declared{"built in " + dc.file, dc.reason}
	}
	for code, where := range derived {
		if _, ok := src.server[code]; !ok {
			t.Errorf(`%s: secret.Parse builds the code %q, which is neither a constant nor in dynamicCodes`, where, code)
		}
	}
	return src
}

// codeConstants returns the constants of type fault.Code a file declares and,
// in the SDK, its untyped Code… string constants (the codes of the SDK's
// own error types).
func codeConstants(fset *token.FileSet, f *ast.File, faultName string, inSDK bool) map[string]declared {
	out := map[string]declared{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			typed := faultName != "" && isSelector(vs.Type, faultName, "Code")
			for i, name := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				if !typed && !(inSDK && vs.Type == nil && strings.HasPrefix(name.Name, "Code")) {
					continue
				}
				code, _ := strconv.Unquote(lit.Value)
				out[code] = declared{f.Name.Name + "." + name.Name, position(fset, name)}
			}
		}
	}
	return out
}

// checkCodeArgs fails on every code argument of a fault constructor,
// fault.Error literal or code helper that is a string literal, or that is
// built from one outside the files of dynamicCodes.
func checkCodeArgs(t *testing.T, fset *token.FileSet, f *ast.File, faultName, rel string) {
	t.Helper()
	if faultName == "" {
		return
	}
	mayBuild := false
	for _, dc := range dynamicCodes {
		mayBuild = mayBuild || dc.file == rel
	}
	check := func(e ast.Expr, what string) {
		if lit, ok := e.(*ast.BasicLit); ok {
			t.Errorf("%s: %s with the literal code %s; use (or declare, in the owner's codes.go) a fault.Code constant",
				position(fset, e), what, lit.Value)
			return
		}
		if c, ok := e.(*ast.CallExpr); ok && isSelector(c.Fun, faultName, "Code") {
			return // a conversion: reported below
		}
		if hasStringLiteral(e) && !mayBuild {
			t.Errorf("%s: %s with a code built from a string literal; use a fault.Code constant, "+
				"or list the codes it builds in dynamicCodes", position(fset, e), what)
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.CallExpr:
			if sel, ok := x.Fun.(*ast.SelectorExpr); ok && isIdent(sel.X, faultName) {
				if i, ok := faultCodeArg[sel.Sel.Name]; ok && i < len(x.Args) {
					check(x.Args[i], "fault."+sel.Sel.Name)
				}
				// A conversion is a literal code by another name.
				if sel.Sel.Name == "Code" && len(x.Args) == 1 && hasStringLiteral(x.Args[0]) && !mayBuild {
					t.Errorf("%s: fault.Code(%s); use a fault.Code constant", position(fset, x), exprText(x.Args[0]))
				}
			}
			if id, ok := x.Fun.(*ast.Ident); ok {
				if i, ok := codeHelpers[id.Name]; ok && i < len(x.Args) {
					check(x.Args[i], id.Name)
				}
			}
		case *ast.CompositeLit:
			if isSelector(x.Type, faultName, "Error") {
				for _, e := range x.Elts {
					if kv, ok := e.(*ast.KeyValueExpr); ok && isIdent(kv.Key, "Code") {
						check(kv.Value, "fault.Error")
					}
				}
			}
		}
		return true
	})
}

// secretParseCodes adds the codes of secret.Parse(raw, prefix, what) calls
// with a literal what: its errors are "invalid_"+what.
func secretParseCodes(fset *token.FileSet, f *ast.File, into map[string]string) {
	name := importName(f, "github.com/tollgate/tollgate/secret")
	if name == "" {
		return
	}
	ast.Inspect(f, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok && isSelector(c.Fun, name, "Parse") && len(c.Args) == 3 {
			if lit, ok := c.Args[2].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				what, _ := strconv.Unquote(lit.Value)
				into["invalid_"+what] = position(fset, c)
			}
		}
		return true
	})
}

type documented struct {
	server, sdk map[string]int // code → line
}

// docCodes reads the code tables of errors.md: rows whose first cell is
// <a id="CODE"></a>`CODE`, under "### Section" headings.
func docCodes(t *testing.T) documented {
	t.Helper()
	data, err := os.ReadFile(errorsDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := documented{server: map[string]int{}, sdk: map[string]int{}}
	section, seen := "", map[string]int{}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		if h, ok := strings.CutPrefix(line, "### "); ok {
			section = h
			continue
		}
		if !strings.HasPrefix(line, "| <a id=") {
			continue
		}
		first := strings.TrimSpace(strings.Split(strings.Trim(line, "|"), "|")[0])
		id, code, ok := parseCodeCell(first)
		if !ok {
			t.Errorf("%s:%d: first cell %q is not <a id=\"code\"></a>`code`", errorsDoc, n, first)
			continue
		}
		if prev, dup := seen[id]; dup {
			t.Errorf("%s:%d: anchor %q is also on line %d; document a code once (link to it elsewhere)", errorsDoc, n, id, prev)
		}
		seen[id] = n
		switch {
		case section == oauthSection:
			if id != "oauth-"+code {
				t.Errorf("%s:%d: OAuth error %q has the anchor %q, want %q", errorsDoc, n, code, id, "oauth-"+code)
			}
		case id != code:
			t.Errorf("%s:%d: code %q has the anchor %q; problem types link to #%s", errorsDoc, n, code, id, code)
		case strings.HasPrefix(section, sdkSection):
			doc.sdk[code] = n
		default:
			doc.server[code] = n
		}
	}
	if len(doc.server) == 0 {
		t.Fatalf("no code rows found in %s: has its table format changed?", errorsDoc)
	}
	return doc
}

// parseCodeCell splits <a id="ID"></a>`CODE`.
func parseCodeCell(cell string) (id, code string, ok bool) {
	rest, ok := strings.CutPrefix(cell, `<a id="`)
	if !ok {
		return "", "", false
	}
	id, rest, ok = strings.Cut(rest, `"></a>`)
	if !ok || len(rest) < 3 || rest[0] != '`' || rest[len(rest)-1] != '`' {
		return "", "", false
	}
	return id, rest[1 : len(rest)-1], true
}

func importName(f *ast.File, path string) string {
	for _, im := range f.Imports {
		if p, _ := strconv.Unquote(im.Path.Value); p == path {
			if im.Name != nil {
				return im.Name.Name
			}
			return path[strings.LastIndex(path, "/")+1:]
		}
	}
	return ""
}

// exprText shows a literal as written, anything else as "…".
func exprText(e ast.Expr) string {
	if lit, ok := e.(*ast.BasicLit); ok {
		return lit.Value
	}
	return "…"
}

func hasStringLiteral(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			found = true
		}
		return !found
	})
	return found
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	return ok && isIdent(sel.X, pkg) && sel.Sel.Name == name
}

func position(fset *token.FileSet, n ast.Node) string {
	p := fset.Position(n.Pos())
	rel, err := filepath.Rel(moduleRoot, p.Filename)
	if err != nil {
		rel = p.Filename
	}
	return filepath.ToSlash(rel) + ":" + strconv.Itoa(p.Line)
}
