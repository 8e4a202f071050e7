package policy

import "fmt"

// Limits on a policy text checked by a single linear scan before the Cedar
// parser sees it. The parser and the validator recurse once per nesting
// level and once per link of an operator chain, and their cost per level
// grows with the depth: 100,000 nested sets cost seconds of CPU and
// hundreds of MB, nested records minutes. Real policies are a few levels
// deep and a few dozen tokens long.
const (
	// MaxPolicyTokens bounds the tokens of one text: 500 policies of 40
	// tokens each. Even a valid text costs the validator microseconds per
	// token.
	MaxPolicyTokens = 20_000
	// MaxPolicyNesting bounds nested brackets: sets, records and
	// parentheses. The validator's cost per level grows with the depth
	// (the type of a set of sets of … is spelled out at each level).
	MaxPolicyNesting = 16
	// MaxPolicyDepth bounds how deep an expression may go: each open
	// bracket counts one, and each operator since the start of its
	// bracket (or of its list element) counts one, since a chain of
	// operators parses into a tree as deep as the chain is long.
	MaxPolicyDepth = 64
)

// checkBounds refuses a text over MaxPolicyTokens tokens or whose
// expressions go deeper than MaxPolicyDepth. It reads Cedar's lexical
// structure only (strings, comments, brackets, operators); whatever it
// lets through, the parser still judges.
func checkBounds(text []byte) error {
	var (
		tokens    int
		line, col = 1, 1
		// levels holds the operators seen so far at each open bracket;
		// depth is len(levels) plus their sum.
		levels = make([]int, 1, 16)
		depth  int
	)
	tooDeep := func() error {
		return &InvalidError{Problems: []Problem{{Line: line, Column: col,
			Message: fmt.Sprintf("expressions nest deeper than %d levels (brackets and chained operators)", MaxPolicyDepth)}}}
	}
	link := func() error {
		levels[len(levels)-1]++
		depth++
		if depth > MaxPolicyDepth {
			return tooDeep()
		}
		return nil
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c == '\n' {
			line, col = line+1, 1
			i++
			continue
		}
		if c == ' ' || c == '\t' || c == '\r' {
			i, col = i+1, col+1
			continue
		}
		tokens++
		if tokens > MaxPolicyTokens {
			return &InvalidError{Problems: []Problem{{Line: line, Column: col,
				Message: fmt.Sprintf("the policy text has more than %d tokens", MaxPolicyTokens)}}}
		}
		n := 1
		switch {
		case c == '/' && i+1 < len(text) && text[i+1] == '/':
			for n = 2; i+n < len(text) && text[i+n] != '\n'; n++ {
			}
			tokens--
		case c == '"':
			for n = 1; i+n < len(text); n++ {
				if text[i+n] == '\\' {
					n++
					continue
				}
				if text[i+n] == '"' {
					n++
					break
				}
				if text[i+n] == '\n' {
					// Strings hold no raw newlines; let the parser say so.
					break
				}
			}
		case isWordByte(c):
			for n = 1; i+n < len(text) && isWordByte(text[i+n]); n++ {
			}
			switch string(text[i : i+n]) {
			case "in", "has", "like", "is", "if", "then", "else":
				if err := link(); err != nil {
					return err
				}
			}
		case c == '(' || c == '[' || c == '{':
			levels = append(levels, 0)
			depth++
			if len(levels)-1 > MaxPolicyNesting {
				return &InvalidError{Problems: []Problem{{Line: line, Column: col,
					Message: fmt.Sprintf("brackets nest deeper than %d levels", MaxPolicyNesting)}}}
			}
			if depth > MaxPolicyDepth {
				return tooDeep()
			}
		case c == ')' || c == ']' || c == '}':
			if len(levels) > 1 {
				depth -= 1 + levels[len(levels)-1]
				levels = levels[:len(levels)-1]
			}
		case c == ',' || c == ';':
			// A list element or a policy starts a new expression.
			depth -= levels[len(levels)-1]
			levels[len(levels)-1] = 0
		case c == ':' && i+1 < len(text) && text[i+1] == ':':
			n = 2
		case c == '&' || c == '|' || c == '=' || c == '!' || c == '<' || c == '>':
			if i+1 < len(text) && (text[i+1] == c || text[i+1] == '=') {
				n = 2
			}
			if err := link(); err != nil {
				return err
			}
		case c == '+' || c == '-' || c == '*' || c == '.':
			if err := link(); err != nil {
				return err
			}
		}
		i += n
		col += n
	}
	return nil
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}
