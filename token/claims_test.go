package token

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestClaimsJSON(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := Claims{
		Issuer: "iss", Subject: "agent:1", Audience: []string{"a"}, ExpiresAt: at.Add(time.Minute), IssuedAt: at,
		ID: "j", SessionID: "s", TenantID: "t", ActorType: "agent", Act: &Actor{Subject: "user:1"},
	}
	b, err := json.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"iss": "iss", "sub": "agent:1", "aud": []any{"a"}, "exp": float64(at.Unix() + 60), "iat": float64(at.Unix()),
		"jti": "j", "sid": "s", "tid": "t", "roles": []any{}, "act_type": "agent", "act": map[string]any{"sub": "user:1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
	var back Claims
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	c.Roles = []string{}
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", back, c)
	}
}

func TestClaimsUnmarshalRejectsBadTypes(t *testing.T) {
	for _, in := range []string{`{"exp":"soon"}`, `{"aud":5}`, `{"roles":"admin"}`, `{"act":"x"}`, `[]`} {
		var c Claims
		if err := json.Unmarshal([]byte(in), &c); err == nil {
			t.Errorf("%s: accepted", in)
		}
	}
}
