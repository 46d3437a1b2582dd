package sbom

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of a Lua token.
type tokKind uint8

const (
	tokEOF tokKind = iota
	tokError
	tokName   // a name or keyword
	tokString // a string literal, its value in text
	tokNumber
	tokPunct // an operator or delimiter
)

type luaToken struct {
	kind tokKind
	text string
}

// luaLexer splits Lua 5.4 source into tokens, skipping blanks and
// comments. An error (an unterminated string or comment) ends the input.
type luaLexer struct {
	src []byte
	pos int
	err error
}

// luaPuncts are Lua's operators and delimiters, longest first.
var luaPuncts = []string{"...", "..", "==", "~=", "<=", ">=", "//", "::", "<<", ">>"}

func (l *luaLexer) next() luaToken {
	l.skipSpace()
	if l.err != nil {
		return luaToken{kind: tokError}
	}
	if l.pos >= len(l.src) {
		return luaToken{kind: tokEOF}
	}
	s, c := l.src, l.src[l.pos]
	switch {
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		start := l.pos
		for l.pos < len(s) && isLuaNameByte(s[l.pos]) {
			l.pos++
		}
		return luaToken{kind: tokName, text: string(s[start:l.pos])}
	case c >= '0' && c <= '9' || c == '.' && l.pos+1 < len(s) && s[l.pos+1] >= '0' && s[l.pos+1] <= '9':
		start := l.pos
		for l.pos < len(s) && (isLuaNameByte(s[l.pos]) || s[l.pos] == '.' ||
			(s[l.pos] == '+' || s[l.pos] == '-') && strings.ContainsRune("eEpP", rune(s[l.pos-1]))) {
			l.pos++
		}
		return luaToken{kind: tokNumber, text: string(s[start:l.pos])}
	case c == '"' || c == '\'':
		return l.shortString(c)
	case c == '[' && l.longBracket() >= 0:
		text, ok := l.longString()
		if !ok {
			return l.fail("unterminated long string")
		}
		return luaToken{kind: tokString, text: text}
	}
	for _, p := range luaPuncts {
		if bytes.HasPrefix(s[l.pos:], []byte(p)) {
			l.pos += len(p)
			return luaToken{kind: tokPunct, text: p}
		}
	}
	l.pos++
	return luaToken{kind: tokPunct, text: string(c)}
}

func (l *luaLexer) fail(what string) luaToken {
	l.err = fmt.Errorf("rockspec: %s at byte %d", what, l.pos)
	return luaToken{kind: tokError}
}

// skipSpace skips blanks and comments (-- to the end of the line, or
// --[[ … ]] and its leveled forms).
func (l *luaLexer) skipSpace() {
	for l.pos < len(l.src) {
		switch c := l.src[l.pos]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			l.pos++
		case c == '-' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '-':
			l.pos += 2
			if l.pos < len(l.src) && l.src[l.pos] == '[' && l.longBracket() >= 0 {
				if _, ok := l.longString(); !ok {
					l.fail("unterminated long comment")
					return
				}
				continue
			}
			if i := bytes.IndexByte(l.src[l.pos:], '\n'); i >= 0 {
				l.pos += i + 1
			} else {
				l.pos = len(l.src)
			}
		default:
			return
		}
	}
}

// longBracket returns the level of the opening long bracket at pos
// ([[ is 0, [==[ is 2), or -1.
func (l *luaLexer) longBracket() int {
	i := l.pos + 1
	for i < len(l.src) && l.src[i] == '=' {
		i++
	}
	if i < len(l.src) && l.src[i] == '[' {
		return i - l.pos - 1
	}
	return -1
}

// longString reads a long bracket string at pos; a newline right after
// the opening bracket is not part of it.
func (l *luaLexer) longString() (string, bool) {
	level := l.longBracket()
	l.pos += level + 2
	closing := "]" + strings.Repeat("=", level) + "]"
	end := bytes.Index(l.src[l.pos:], []byte(closing))
	if end < 0 {
		l.pos = len(l.src)
		return "", false
	}
	body := l.src[l.pos : l.pos+end]
	l.pos += end + len(closing)
	if len(body) > 0 && body[0] == '\r' {
		body = body[1:]
	}
	if len(body) > 0 && body[0] == '\n' {
		body = body[1:]
	}
	return string(body), true
}

// shortString reads a quoted string with Lua's escapes.
func (l *luaLexer) shortString(q byte) luaToken {
	var b strings.Builder
	s := l.src
	for l.pos++; l.pos < len(s); l.pos++ {
		c := s[l.pos]
		switch {
		case c == q:
			l.pos++
			return luaToken{kind: tokString, text: b.String()}
		case c == '\n' || c == '\r':
			return l.fail("unterminated string")
		case c == '\\' && l.pos+1 < len(s):
			l.pos++
			l.escape(&b)
		default:
			b.WriteByte(c)
		}
	}
	return l.fail("unterminated string")
}

// escape decodes the escape sequence after a backslash, leaving pos on
// its last byte.
func (l *luaLexer) escape(b *strings.Builder) {
	s := l.src
	switch e := s[l.pos]; e {
	case 'a', 'b', 'f', 'n', 'r', 't', 'v':
		b.WriteByte("\a\b\f\n\r\t\v"[strings.IndexByte("abfnrtv", e)])
	case 'x':
		if l.pos+2 < len(s) {
			if v, err := strconv.ParseUint(string(s[l.pos+1:l.pos+3]), 16, 8); err == nil {
				b.WriteByte(byte(v))
				l.pos += 2
			}
		}
	case 'z': // skip the following blanks
		for l.pos+1 < len(s) && strings.IndexByte(" \t\n\r\v\f", s[l.pos+1]) >= 0 {
			l.pos++
		}
	case 'u':
		end := bytes.IndexByte(s[l.pos:], '}')
		if l.pos+1 < len(s) && s[l.pos+1] == '{' && end > 2 && end <= 10 {
			if v, err := strconv.ParseUint(string(s[l.pos+2:l.pos+end]), 16, 31); err == nil && v <= utf8.MaxRune {
				b.WriteRune(rune(v))
				l.pos += end
			}
		}
	default:
		if e >= '0' && e <= '9' {
			n := 0
			v := 0
			for ; n < 3 && l.pos+n < len(s) && s[l.pos+n] >= '0' && s[l.pos+n] <= '9'; n++ {
				v = v*10 + int(s[l.pos+n]-'0')
			}
			if v <= 255 {
				b.WriteByte(byte(v))
			}
			l.pos += n - 1
			return
		}
		b.WriteByte(e) // \\, \", \', and a backslash-newline
	}
}

func isLuaNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

var luaKeywords = map[string]bool{
	"and": true, "break": true, "do": true, "else": true, "elseif": true, "end": true,
	"false": true, "for": true, "function": true, "goto": true, "if": true, "in": true,
	"local": true, "nil": true, "not": true, "or": true, "repeat": true, "return": true,
	"then": true, "true": true, "until": true, "while": true,
}

func isLuaBlock(t luaToken) bool {
	if t.kind != tokName {
		return false
	}
	switch t.text {
	case "function", "if", "do", "for", "while", "repeat":
		return true
	}
	return false
}

func isLuaBinary(t luaToken) bool {
	switch {
	case t.kind == tokName:
		return t.text == "and" || t.text == "or"
	case t.kind != tokPunct:
		return false
	}
	switch t.text {
	case "..", "+", "-", "*", "/", "//", "%", "^", "==", "~=", "<", "<=", ">", ">=", "&", "|", "~", "<<", ">>":
		return true
	}
	return false
}

// skipBlock skips a statement that opens a block (function, if, do, for,
// while, repeat) up to its end.
func (p *luaParser) skipBlock() {
	depth := 0
	for p.tok.kind != tokEOF && p.tok.kind != tokError {
		t := p.tok
		p.next()
		if t.kind != tokName {
			continue
		}
		switch t.text {
		case "function", "if", "do", "repeat":
			depth++
		case "end", "until":
			if depth--; depth <= 0 {
				if t.text == "until" {
					p.expr()
				}
				return
			}
		}
	}
}
