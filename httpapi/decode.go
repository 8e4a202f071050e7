package httpapi

import (
	"bufio"
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
	body := bufio.NewReader(bytes.NewReader(raw))
	if err := requireObject(body); err != nil {
		return err
	}
	dec := json.NewDecoder(body)
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
func requireObject(body *bufio.Reader) error {
	for {
		c, err := body.ReadByte()
		if err != nil {
			return decodeError(err)
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case 'n':
			return fault.Invalidf("", CodeInvalidType, "the body must be of JSON type object")
		}
		return body.UnreadByte()
	}
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
