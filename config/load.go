package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Loader resolves a Config for one command. It remembers the flags it
// registered on the command's FlagSet so that Load can tell which ones the
// user set explicitly.
type Loader struct {
	fs         *flag.FlagSet
	configPath string
	flags      map[string]*flagValue // by flag name
}

// Register defines on fs a flag for every setting except secrets, plus
// --config (the YAML file to read). Call Load after fs.Parse.
func Register(fs *flag.FlagSet) *Loader {
	l := &Loader{fs: fs, flags: make(map[string]*flagValue, len(fields))}
	fs.StringVar(&l.configPath, "config", "",
		"Path of a YAML configuration file (env "+ConfigFileEnv+")")
	for i := range fields {
		f := &fields[i]
		name := f.flagName()
		if name == "" {
			continue
		}
		v := &flagValue{f: f}
		l.flags[name] = v
		fs.Var(v, name, f.help+" (env "+f.envName()+")")
	}
	return l
}

// flagValue records the text of a flag after checking that it parses, so a
// bad value is reported by fs.Parse as usual; Load applies it in precedence
// order. A flag the user did not set keeps the built-in default, which must
// not override the file or the environment — Load consults only the flags
// fs.Visit reports.
type flagValue struct {
	f   *field
	raw string
	set bool
}

func (v *flagValue) String() string {
	switch {
	case v == nil || v.f == nil: // the zero value flag.PrintDefaults probes
		return ""
	case v.set:
		return v.raw
	}
	return v.f.def
}

func (v *flagValue) Set(s string) error {
	var scratch Config
	if err := v.f.bind(&scratch).set(s); err != nil {
		return err
	}
	v.raw, v.set = s, true
	return nil
}

func (v *flagValue) IsBoolFlag() bool {
	var scratch Config
	return v.f.bind(&scratch).isBool()
}

// Load resolves the configuration: built-in defaults, then the YAML file named
// by --config or else by $TOLLGATE_CONFIG (if any), then TOLLGATE_* variables
// looked up with getenv (os.LookupEnv in production; a variable set to the
// empty string counts as set), then the flags set on the command line. It
// reports every bad value, naming its source and setting, and then the checks
// of Validate.
func (l *Loader) Load(getenv func(string) (string, bool)) (Config, error) {
	if !l.fs.Parsed() {
		return Config{}, errors.New("config: Load called before the flag set was parsed")
	}
	if getenv == nil {
		getenv = func(string) (string, bool) { return "", false }
	}

	explicit := make(map[string]bool)
	l.fs.Visit(func(fl *flag.Flag) { explicit[fl.Name] = true })

	c := Defaults()
	origins := make(map[string]string) // YAML key → source of its current value

	path := ""
	if v, ok := getenv(ConfigFileEnv); ok {
		path = v
	}
	if explicit["config"] {
		path = l.configPath
	}
	if path != "" {
		if err := loadFile(&c, path, origins); err != nil {
			return Config{}, err
		}
	}

	var errs []error
	for i := range fields {
		f := &fields[i]
		raw, ok := getenv(f.envName())
		if !ok {
			continue
		}
		if err := f.bind(&c).set(raw); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.envName(), err))
			continue
		}
		origins[f.key] = f.envName()
	}

	for i := range fields {
		f := &fields[i]
		name := f.flagName()
		if name == "" || !explicit[name] {
			continue
		}
		// Look the flag up again rather than trusting l.flags alone: the value
		// fs holds under this name must be the one Register installed.
		fl := l.fs.Lookup(name)
		v, ok := fl.Value.(*flagValue)
		if !ok || v != l.flags[name] {
			return Config{}, fmt.Errorf("config: flag --%s was redefined after Register", name)
		}
		if err := f.bind(&c).set(v.raw); err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", name, err))
			continue
		}
		origins[f.key] = "--" + name
	}

	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	if err := c.validate(origins); err != nil {
		return Config{}, err
	}
	return c, nil
}

// loadFile applies the settings in a YAML file to c. The document must be a
// mapping from setting keys to single values; it is walked as a yaml.Node
// against the field table (rather than decoded into a second, tagged struct
// with KnownFields) so that the table stays the only list of keys, and so that
// every error can carry its line number.
func loadFile(c *Config, path string, origins map[string]string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) { // empty file
			return nil
		}
		return fmt.Errorf("config file %s: %w", path, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return fmt.Errorf("config file %s: want a single YAML document", path)
	}

	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil
		}
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" { // only comments, or "~"
		return nil
	}
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: want a mapping of setting names to values, e.g. \"listen: 127.0.0.1:9200\"",
			path, root.Line)
	}

	var errs []error
	seen := make(map[string]int) // key → line
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		key := k.Value
		f := fieldsByKey[key]
		if k.Kind != yaml.ScalarNode || f == nil {
			errs = append(errs, fmt.Errorf("%s:%d: unknown setting %q%s", path, k.Line, key, suggestKey(key)))
			continue
		}
		if first, dup := seen[key]; dup {
			errs = append(errs, fmt.Errorf("%s:%d: %s is set twice (first on line %d)", path, k.Line, key, first))
			continue
		}
		seen[key] = k.Line

		if v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		src := fmt.Sprintf("%s:%d", path, v.Line)
		var raw string
		switch {
		case v.Kind == yaml.ScalarNode && v.Tag == "!!null": // "key:" with nothing after it
		case v.Kind == yaml.ScalarNode:
			raw = v.Value
		case f.structured && (v.Kind == yaml.SequenceNode || v.Kind == yaml.MappingNode):
			js, err := yamlToJSON(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %w", src, key, err))
				continue
			}
			raw = js
		default:
			errs = append(errs, fmt.Errorf("%s:%d: %s: want a single value, not a list or mapping", path, v.Line, key))
			continue
		}
		if err := f.bind(c).set(raw); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", src, key, err))
			continue
		}
		origins[key] = src
	}
	return errors.Join(errs...)
}

// suggestKey points a user who wrote a flag or environment variable name in
// the file to the YAML key.
func suggestKey(key string) string {
	k := strings.ToLower(strings.TrimLeft(key, "-"))
	k = strings.TrimPrefix(k, strings.ToLower(EnvPrefix))
	k = strings.ReplaceAll(k, "-", "_")
	if k != key && fieldsByKey[k] != nil {
		return fmt.Sprintf(" (did you mean %q?)", k)
	}
	return ""
}
