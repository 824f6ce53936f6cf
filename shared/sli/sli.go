// Package sli holds what SLI providers share: Keptn's sli.yaml format
// (spec_version '1.0', indicators: {name: query}), merging it over the
// project, stage and service levels, and the query placeholders ($PROJECT,
// $STAGE, $SERVICE, $DEPLOYMENT, $DURATION_SECONDS, $LABEL.<name> and the
// SLO's custom filters). The Prometheus provider is in sli/prometheus.
package sli

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// MaxFileSize bounds an sli.yaml.
const MaxFileSize = 1 << 20

// File is a parsed sli.yaml.
type File struct {
	SpecVersion string            `yaml:"spec_version"`
	Indicators  map[string]string `yaml:"indicators"`
}

var specVersion = regexp.MustCompile(`^(1\.0|0\.1(\.[0-9]+)?)$`)

// Parse reads an sli.yaml; errors name the file and the field.
func Parse(name string, b []byte) (*File, error) {
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxFileSize)
	}
	var root yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&root); err != nil {
		return nil, fmt.Errorf("%s: not valid YAML: %v", name, err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: not a YAML mapping", name)
	}
	var f File
	if err := root.Decode(&f); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("%s: indicators must map names to query strings: %s", name, strings.Join(te.Errors, "; "))
		}
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if !specVersion.MatchString(f.SpecVersion) {
		return nil, fmt.Errorf("%s: spec_version: %q is not supported (want '1.0')", name, f.SpecVersion)
	}
	for k, q := range f.Indicators {
		if strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%s: indicators: an indicator has no name", name)
		}
		if strings.TrimSpace(q) == "" {
			return nil, fmt.Errorf("%s: indicators.%s: the query is empty", name, k)
		}
	}
	return &f, nil
}

// Merge overlays files given from the coarsest level (project) to the
// finest (service): a finer level's query replaces a coarser one of the
// same name, as Keptn's SLI providers do.
func Merge(files ...*File) map[string]string {
	out := map[string]string{}
	for _, f := range files {
		if f == nil {
			continue
		}
		for k, v := range f.Indicators {
			out[k] = v
		}
	}
	return out
}

// Vars are the values placeholders are replaced with.
type Vars struct {
	Project, Stage, Service, Deployment string
	Start, End                          time.Time
	Labels                              map[string]string
	// CustomFilters are the SLO's filter entries ($<key> in queries).
	CustomFilters map[string]string
}

var filterKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)

// Expand replaces the placeholders in a query. Longer names win over
// shorter ones that prefix them ($SERVICE_NAME before $SERVICE), so the
// order of replacement never depends on map order.
func Expand(query string, v Vars) string {
	pairs := map[string]string{
		"$PROJECT":          v.Project,
		"$STAGE":            v.Stage,
		"$SERVICE":          v.Service,
		"$DEPLOYMENT":       v.Deployment,
		"$DURATION_SECONDS": strconv.FormatInt(int64(v.End.Sub(v.Start)/time.Second), 10) + "s",
	}
	for k, val := range v.Labels {
		pairs["$LABEL."+k] = val
	}
	for k, val := range v.CustomFilters {
		if filterKey.MatchString(k) {
			if _, builtin := pairs["$"+k]; !builtin {
				pairs["$"+k] = val
			}
		}
	}
	keys := make([]string, 0, len(pairs))
	for k := range pairs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) > len(keys[j])
		}
		return keys[i] < keys[j]
	})
	args := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		args = append(args, k, pairs[k])
	}
	return strings.NewReplacer(args...).Replace(query)
}
