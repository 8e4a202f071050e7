package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/tollgate/tollgate/fault"
)

// decodeJSON reads exactly one JSON object into dst: the body must be JSON,
// at most the configured size, valid UTF-8, with no unknown fields and
// nothing after it.
func decodeJSON(r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &fault.Error{Kind: fault.UnsupportedMediaType, Code: CodeUnsupportedMediaType, Detail: "the body must be application/json"}
		}
	}
	// Read the whole body (the middleware bounds it) to check its bytes:
	// json.Decoder turns invalid UTF-8 inside strings into U+FFFD without
	// a word, so "\xc0\xaf" would arrive as a name of "\uFFFD".
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return decodeError(err)
	}
	if !utf8.Valid(raw) {
		return fault.Invalidf("", CodeInvalidUTF8, "the request body must be valid UTF-8")
	}
	if loneSurrogate(raw) {
		return fault.Invalidf("", CodeInvalidUTF8, `the request body must be valid UTF-8: a \u escape names half a surrogate pair`)
	}
	raw, err = requireObject(raw)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fault.Invalidf("", CodeInvalidJSON, "the body must hold one JSON object and nothing after it")
	}
	return nil
}

// requireObject refuses a null body before decoding: json.Decode takes
// null as "nothing" and leaves dst as it was, so a PATCH of null would
// answer 200. Other non-objects fail decoding with invalid_type.
// It returns raw from its first non-space byte on; working on the bytes
// already read spares a 4 KiB buffered reader per request.
func requireObject(raw []byte) ([]byte, error) {
	rest := bytes.TrimLeft(raw, " \t\r\n")
	switch {
	case len(rest) == 0:
		return nil, decodeError(io.EOF)
	case rest[0] == 'n':
		return nil, fault.Invalidf("", CodeInvalidType, "the body must be of JSON type object")
	}
	return rest, nil
}

func decodeError(err error) error {
	var maxErr *http.MaxBytesError
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &maxErr):
		return &fault.Error{Kind: fault.TooLarge, Code: CodeBodyTooLarge, Detail: "the request body is larger than the server accepts"}
	case errors.Is(err, io.EOF):
		return fault.Invalidf("", CodeInvalidJSON, "the request body is empty")
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return fault.Invalidf("", CodeInvalidJSON, "the request body is not valid JSON")
	case errors.As(err, &typeErr):
		return fault.Invalidf(typeErr.Field, CodeInvalidType, "%s must be of JSON type %s", fieldName(typeErr.Field), jsonType(typeErr.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return fault.Invalidf(name, CodeUnknownField, "unknown field %q", name)
	default:
		return fault.Invalidf("", CodeInvalidJSON, "the request body could not be read as JSON")
	}
}

func fieldName(f string) string {
	if f == "" {
		return "the body"
	}
	return f
}

func jsonType(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "map", "struct", "ptr":
		return "object"
	default:
		return "number"
	}
}

// loneSurrogate reports whether raw escapes half of a UTF-16 surrogate
// pair (\ud800 without a low half, or a low half alone): json.Decoder
// turns it into U+FFFD without a word, as it does invalid UTF-8.
// Backslashes occur only inside strings, so no string state is needed.
func loneSurrogate(raw []byte) bool {
	for i := 0; i+1 < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if raw[i+1] != 'u' {
			i++ // skip the escaped character, a backslash included
			continue
		}
		v, ok := hex4(raw, i+2)
		switch {
		case !ok:
			return false // malformed: the decoder says so
		case v >= 0xdc00 && v <= 0xdfff:
			return true
		case v >= 0xd800 && v <= 0xdbff:
			if i+11 >= len(raw) || raw[i+6] != '\\' || raw[i+7] != 'u' {
				return true
			}
			if low, ok := hex4(raw, i+8); !ok || low < 0xdc00 || low > 0xdfff {
				return true
			}
			i += 11
		default:
			i += 5
		}
	}
	return false
}

// hex4 reads the four hex digits at raw[i:].
func hex4(raw []byte, i int) (rune, bool) {
	if i+4 > len(raw) {
		return 0, false
	}
	var v rune
	for _, c := range raw[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}
