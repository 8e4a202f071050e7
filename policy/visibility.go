package policy

// A channel's visibility attribute: who reads it besides those it lists.
// The default policies read only ChannelPublic; anything else, and no
// attribute at all, leaves a channel private, so a channel is never opened
// by a missing or misspelt value. Registration still refuses any other
// value, so that a typo is caught where it is written.
const (
	ChannelPublic  = "public"
	ChannelPrivate = "private"
)

// checkVisibility refuses a channel's visibility that is neither public
// nor private; the schema can only say that it is a string.
func checkVisibility(r Resource) error {
	v, ok := r.Attrs["visibility"]
	if !ok || r.Type != ResourceChannel {
		return nil
	}
	if s, _ := v.(string); s != ChannelPublic && s != ChannelPrivate {
		return invalidf("attrs.visibility", "a channel's visibility is %q or %q", ChannelPublic, ChannelPrivate)
	}
	return nil
}
