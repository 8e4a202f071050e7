package config

import (
	"fmt"
	"io"
	"strconv"

	"gopkg.in/yaml.v3"
)

// WriteRedacted writes c as a YAML configuration file with the keys the file
// accepts, in documentation order. A secret that is set is written as
// "<redacted>" (and an empty one as ""), and the password in the database URL
// is redacted. Settings whose empty or zero value stands for a derived one get
// a comment with the value in effect. Apart from redacted secrets, the output
// loads back into an identical Config.
func (c Config) WriteRedacted(w io.Writer) error {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for i := range fields {
		f := &fields[i]
		s := f.bind(&c)
		val := &yaml.Node{Kind: yaml.ScalarNode, Tag: s.yamlTag(), Value: f.display(&c)}
		if f.secret && val.Value != "" {
			val.Style = yaml.DoubleQuotedStyle
		}
		val.LineComment = c.derivedComment(f.key)
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f.key}, val)
	}
	doc := &yaml.Node{
		Kind:        yaml.DocumentNode,
		HeadComment: "Effective Tollgate configuration (secrets redacted)",
		Content:     []*yaml.Node{m},
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("config: write: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("config: write: %w", err)
	}
	return nil
}

// derivedComment explains what an empty or zero setting resolves to.
func (c Config) derivedComment(key string) string {
	switch key {
	case "database_url":
		if c.DatabaseURL == "" {
			return "# " + c.EffectiveDatabaseURL()
		}
	case "master_key":
		if c.MasterKey == "" {
			if c.IsSQLite() {
				return "# read from or generated into " + c.MasterKeyFile()
			}
			return "# not set"
		}
	case "issuer":
		if c.Issuer == "" {
			return "# " + c.EffectiveIssuer()
		}
	case "hash_concurrency":
		if c.HashConcurrency == 0 {
			return "# GOMAXPROCS = " + strconv.Itoa(c.EffectiveHashConcurrency())
		}
	}
	return ""
}
