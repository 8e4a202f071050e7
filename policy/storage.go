package policy

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
)

// What both storage backends share: the errors Store documents and the
// JSON form of a resource's parents and attributes.

// ErrResourceNotFound is Store's NotFound for a resource.
func ErrResourceNotFound() error { return fault.NotFoundf(CodeResourceNotFound, "resource not found") }

// ErrPolicyVersionNotFound is Store's NotFound for a policy version.
func ErrPolicyVersionNotFound() error {
	return fault.NotFoundf(CodePolicyVersionNotFound, "policy version not found")
}

// ErrPolicyVersionConflict is AddPolicySet's Conflict.
func ErrPolicyVersionConflict() error {
	return fault.Conflictf(CodePolicyVersionConflict, "the policies changed since the version this change was based on")
}

func errInvalidCursor() error {
	return fault.Invalidf("cursor", cursor.CodeInvalidCursor, "cursor is not valid")
}

// EncodeParents writes parents as a JSON array of {"type", "id"}; nil is [].
func EncodeParents(ps []ResourceRef) (string, error) {
	if len(ps) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(ps)
	return string(b), err
}

// EncodeAttrs writes attrs as a JSON object; nil is {}.
func EncodeAttrs(attrs map[string]any) (string, error) {
	if len(attrs) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(attrs)
	return string(b), err
}

// DecodeParents reads what EncodeParents wrote; never nil.
func DecodeParents(b []byte) ([]ResourceRef, error) {
	var ps []ResourceRef
	if err := json.Unmarshal(b, &ps); err != nil {
		return nil, err
	}
	if ps == nil {
		ps = []ResourceRef{}
	}
	return ps, nil
}

// DecodeAttrs reads what EncodeAttrs wrote, numbers as json.Number, so that
// integers beyond float64's 53 bits come back exact; never nil.
func DecodeAttrs(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var attrs map[string]any
	if err := d.Decode(&attrs); err != nil {
		return nil, err
	}
	if attrs == nil {
		attrs = map[string]any{}
	}
	return attrs, nil
}

// ResourceCursor splits a ListResources cursor "type/id" at its first "/":
// types never contain one, ids may.
func ResourceCursor(after string) (typ, id string, err error) {
	typ, id, found := strings.Cut(after, "/")
	if !found {
		return "", "", errInvalidCursor()
	}
	return typ, id, nil
}

// VersionCursor parses a ListPolicySetVersions cursor, a decimal version.
func VersionCursor(after string) (int64, error) {
	v, err := strconv.ParseInt(after, 10, 64)
	if err != nil {
		return 0, errInvalidCursor()
	}
	return v, nil
}
