package config

import (
	"os"
	"strings"
	"testing"
)

const docsPath = "../docs/configuration.md"

// docRow is how docs/configuration.md shows one setting in its table. The
// table was generated from Fields once; this test keeps it from drifting.
func docRow(f FieldDoc) []string {
	flagCell := "—"
	if f.Flag != "" {
		flagCell = "`--" + f.Flag + "`"
	}
	def := "`" + f.Default + "`"
	if f.Default == "" {
		def = "(empty)"
	}
	return []string{flagCell, "`" + f.Env + "`", "`" + f.YAML + "`", def}
}

// docTableRows returns the cells of the settings table, keyed by YAML key.
func docTableRows(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatalf("read docs: %v", err)
	}
	rows := make(map[string][]string)
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		// Settings rows have the environment variable in the second column.
		if len(cells) < 5 || !strings.HasPrefix(cells[1], "`"+EnvPrefix) {
			continue
		}
		key := strings.Trim(cells[2], "`")
		if _, dup := rows[key]; dup {
			t.Errorf("docs: setting %s appears twice in the table", key)
		}
		rows[key] = cells
	}
	return rows
}

func TestDocsListEverySetting(t *testing.T) {
	rows := docTableRows(t)
	for _, f := range Fields() {
		cells, ok := rows[f.YAML]
		if !ok {
			t.Errorf("docs: no table row for %s; add:\n| %s | %s |", f.YAML, strings.Join(docRow(f), " | "), f.Help)
			continue
		}
		want := docRow(f)
		for i, w := range want {
			if cells[i] != w {
				t.Errorf("docs: %s: column %d is %q, want %q", f.YAML, i+1, cells[i], w)
			}
		}
		if strings.TrimSpace(cells[4]) == "" {
			t.Errorf("docs: %s: empty meaning", f.YAML)
		}
		delete(rows, f.YAML)
	}
	for key := range rows {
		t.Errorf("docs: table row for unknown setting %q", key)
	}
}
