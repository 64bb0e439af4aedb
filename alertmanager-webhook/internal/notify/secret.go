package notify

// Secret is a credential from the configuration (a key, a password, a URL that is itself
// the credential). It prints, marshals and logs as "<secret>"; only Value reveals it.
type Secret string

const redacted = "<secret>"

// Value returns the secret itself, for the one place that sends it.
func (s Secret) Value() string { return string(s) }

func (s Secret) String() string   { return redacted }
func (s Secret) GoString() string { return redacted }

// MarshalJSON keeps the secret out of API answers.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalYAML keeps the secret out of dumped configuration.
func (s Secret) MarshalYAML() (any, error) { return redacted, nil }

// MarshalText keeps the secret out of text encodings (slog's text handler uses it).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
