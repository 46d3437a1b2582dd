package sbom

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/package-url/packageurl-go"
)

const (
	// maxRockspecBytes bounds one rockspec, a Lua file of a few kilobytes
	// (Kong's, with its module list, is 40 KB).
	maxRockspecBytes = 1 << 20
	// maxLuaDepth bounds the nesting of tables and parentheses.
	maxLuaDepth = 64
	// maxLuaString bounds a string built by concatenation, so that
	// doubling a variable in a loop of assignments stays small.
	maxLuaString = 4096
)

// typeLuaRocks is the purl type of Lua rocks (packageurl-go has no
// constant for it).
const typeLuaRocks = "luarocks"

// luaCataloger reads Lua rocks: the rockspec LuaRocks keeps of each rock
// it installs (ROCKS_TREE/lib/luarocks/rocks-5.x/NAME/VERSION/NAME-VERSION.rockspec)
// and an application's own, as syft reads every *.rockspec.
var luaCataloger = &appCataloger{
	name:       "lua",
	purlType:   typeLuaRocks,
	sourceInfo: "cataloged from the rockspec of a Lua rock",
	match:      func(p string) bool { return strings.HasSuffix(p, ".rockspec") },
	maxBytes:   maxRockspecBytes,
	parse:      parseRockspec,
}

// parseRockspec reads a rockspec, a Lua program that assigns the rock's
// fields, without running it: the string values (literals, local and
// global variables, and their concatenations with "..") assigned to
// package, version and description.license; a later assignment wins, as
// in Lua. Other statements and expressions are skipped.
func parseRockspec(r io.Reader, _ int64) ([]Package, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxRockspecBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read rockspec: %w", err)
	}
	if len(b) > maxRockspecBytes {
		return nil, fmt.Errorf("rockspec is over %d bytes", maxRockspecBytes)
	}
	p := &luaParser{lex: luaLexer{src: b}, vars: map[string]luaValue{}}
	p.next()
	p.chunk()
	name, version := p.vars["package"].str, p.vars["version"].str
	if name == "" || version == "" {
		return nil, errors.Join(p.err, errors.New("rockspec assigns no string package or version"))
	}
	return []Package{{
		Type:    typeLuaRocks,
		Name:    name,
		Version: version,
		PURL:    packageurl.NewPackageURL(typeLuaRocks, "", name, version, nil, "").ToString(),
		License: strings.TrimSpace(p.vars["description"].fields["license"]),
	}}, p.err
}

// luaValue is what the parser knows of an expression's value: a string,
// a table's string fields, or nothing.
type luaValue struct {
	str    string
	isStr  bool
	fields map[string]string // a table constructor's NAME = string fields
}

// luaParser reads the statements of a Lua chunk, evaluating only string
// expressions. Variables are not scoped: a rockspec is a flat list of
// assignments.
type luaParser struct {
	lex   luaLexer
	tok   luaToken
	vars  map[string]luaValue
	depth int
	err   error
}

func (p *luaParser) next() {
	p.tok = p.lex.next()
	if p.tok.kind == tokError && p.err == nil {
		p.err = p.lex.err
	}
}

func (p *luaParser) is(kind tokKind, text string) bool {
	return p.tok.kind == kind && p.tok.text == text
}

// chunk reads statements up to the end of the file or an error.
func (p *luaParser) chunk() {
	for p.tok.kind != tokEOF && p.tok.kind != tokError {
		p.statement()
	}
}

// statement reads one statement: [local] NAMES = EXPS, a block
// (skipped), or any other expression or token (skipped).
func (p *luaParser) statement() {
	switch {
	case p.is(tokName, "local"):
		p.next()
		if p.is(tokName, "function") {
			p.skipBlock()
			return
		}
		p.assignment()
	case isLuaBlock(p.tok):
		p.skipBlock()
	case p.tok.kind == tokName && !luaKeywords[p.tok.text]:
		p.assignment()
	default:
		p.next()
	}
}

// assignment reads NAME {, NAME} = EXP {, EXP}, assigning the values in
// order to the plain variables among the targets (not to a.b or t[k]);
// without "=" it is an expression statement (a call), skipped.
func (p *luaParser) assignment() {
	var names []string
	for p.tok.kind == tokName && !luaKeywords[p.tok.text] {
		name := p.tok.text
		p.next()
		if p.suffixes() {
			name = "" // not a plain variable: its value is not kept
		}
		names = append(names, name)
		if !p.is(tokPunct, ",") {
			break
		}
		p.next()
	}
	if !p.is(tokPunct, "=") {
		return
	}
	p.next()
	for i := 0; ; i++ {
		v := p.expr()
		if i < len(names) && names[i] != "" {
			p.vars[names[i]] = v
		}
		if !p.is(tokPunct, ",") {
			break
		}
		p.next()
	}
}

// expr reads an expression; only strings and their concatenations keep a
// value, and only tables keep their string fields. Operators are read
// left to right without precedence: any but ".." makes the value unknown.
func (p *luaParser) expr() luaValue {
	if p.depth++; p.depth > maxLuaDepth {
		if p.err == nil {
			p.err = fmt.Errorf("rockspec nests deeper than %d levels", maxLuaDepth)
		}
		p.lex.pos, p.tok = len(p.lex.src), luaToken{kind: tokEOF}
		return luaValue{}
	}
	defer func() { p.depth-- }()
	v := p.operand()
	for isLuaBinary(p.tok) {
		concat := p.is(tokPunct, "..")
		p.next()
		w := p.operand()
		if concat && v.isStr && w.isStr && len(v.str)+len(w.str) <= maxLuaString {
			v = luaValue{str: v.str + w.str, isStr: true}
		} else {
			v = luaValue{}
		}
	}
	return v
}

// operand reads a term with its unary operators (which make its value
// unknown).
func (p *luaParser) operand() luaValue {
	unary := false
	for p.is(tokName, "not") || p.is(tokPunct, "-") || p.is(tokPunct, "#") || p.is(tokPunct, "~") {
		unary = true
		p.next()
	}
	if v := p.term(); !unary {
		return v
	}
	return luaValue{}
}

// term reads a simple expression: a literal, a table constructor, a
// function (skipped), a variable, or a parenthesized expression, with
// its suffixes (which make its value unknown).
func (p *luaParser) term() luaValue {
	var v luaValue
	switch t := p.tok; {
	case t.kind == tokString:
		p.next()
		v = luaValue{str: t.text, isStr: true}
	case t.kind == tokPunct && t.text == "{":
		v = p.table()
	case t.kind == tokName && t.text == "function":
		p.skipBlock()
		return luaValue{}
	case t.kind == tokName && !luaKeywords[t.text]:
		p.next()
		v = p.vars[t.text]
	case t.kind == tokPunct && t.text == "(":
		p.next()
		v = p.expr()
		if p.is(tokPunct, ")") {
			p.next()
		}
	default: // a number, nil, true, false, ...: no string
		if t.kind != tokEOF && t.kind != tokError {
			p.next()
		}
		return luaValue{}
	}
	if p.suffixes() {
		return luaValue{}
	}
	return v
}

// suffixes skips field accesses, indexes, method calls and calls, and
// reports whether there were any.
func (p *luaParser) suffixes() bool {
	any := false
	for {
		switch {
		case p.is(tokPunct, ".") || p.is(tokPunct, ":"):
			p.next()
			if p.tok.kind == tokName {
				p.next()
			}
		case p.is(tokPunct, "["):
			p.next()
			p.expr()
			if p.is(tokPunct, "]") {
				p.next()
			}
		case p.is(tokPunct, "("):
			p.next()
			for !p.is(tokPunct, ")") && p.tok.kind != tokEOF && p.tok.kind != tokError {
				p.expr()
				if p.is(tokPunct, ",") {
					p.next()
				} else if !p.is(tokPunct, ")") {
					p.next()
				}
			}
			p.next()
		case p.tok.kind == tokString: // f"x"
			p.next()
		case p.is(tokPunct, "{"): // f{...}
			p.table()
		default:
			return any
		}
		any = true
	}
}

// table reads a table constructor and keeps its NAME = string fields.
func (p *luaParser) table() luaValue {
	p.next() // {
	v := luaValue{fields: map[string]string{}}
	for !p.is(tokPunct, "}") && p.tok.kind != tokEOF && p.tok.kind != tokError {
		switch {
		case p.is(tokPunct, ",") || p.is(tokPunct, ";"):
			p.next()
		case p.is(tokPunct, "["):
			p.next()
			p.expr()
			if p.is(tokPunct, "]") {
				p.next()
			}
			if p.is(tokPunct, "=") {
				p.next()
				p.expr()
			}
		case p.tok.kind == tokName && p.peekAssign():
			name := p.tok.text
			p.next() // NAME
			p.next() // =
			if f := p.expr(); f.isStr {
				v.fields[name] = f.str
			}
		default:
			before := p.lex.pos
			p.expr()
			if p.lex.pos == before && !p.is(tokPunct, "}") {
				p.next()
			}
		}
	}
	p.next() // }
	return v
}

// peekAssign reports whether the token after the current one is "=".
func (p *luaParser) peekAssign() bool {
	l := p.lex
	t := l.next()
	return t.kind == tokPunct && t.text == "="
}
