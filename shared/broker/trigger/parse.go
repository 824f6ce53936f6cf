package trigger

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/slipwayhq/slipway/shared/broker/filter"
)

// The YAML shapes, decoded strictly (unknown spec fields are errors).
type rawDoc struct {
	APIVersion string    `yaml:"apiVersion"`
	Kind       string    `yaml:"kind"`
	Metadata   yaml.Node `yaml:"metadata"`
	Spec       yaml.Node `yaml:"spec"`
}

type rawMeta struct {
	Name      string `yaml:"name"`
	Namespace string `yaml:"namespace"`
}

type rawSpec struct {
	Broker    string `yaml:"broker"`
	BrokerRef *Ref   `yaml:"brokerRef"`
	Filter    *struct {
		Attributes map[string]string `yaml:"attributes"`
	} `yaml:"filter"`
	Filters    []filter.Expr `yaml:"filters"`
	Subscriber *rawDest      `yaml:"subscriber"`
	Delivery   *rawDelivery  `yaml:"delivery"`
}

type rawDest struct {
	Ref      *Ref   `yaml:"ref"`
	URI      string `yaml:"uri"`
	CACerts  string `yaml:"CACerts"`
	Audience string `yaml:"audience"`
}

type rawDelivery struct {
	Retry          *int32   `yaml:"retry"`
	BackoffPolicy  *string  `yaml:"backoffPolicy"`
	BackoffDelay   *string  `yaml:"backoffDelay"`
	Timeout        *string  `yaml:"timeout"`
	DeadLetterSink *rawDest `yaml:"deadLetterSink"`
	RetryAfterMax  *string  `yaml:"retryAfterMax"` // accepted, not used: Retry-After is not honoured
	Format         *string  `yaml:"format"`
}

// Parse reads every Trigger from a (multi-document) YAML stream. Empty
// documents and documents of other kinds are skipped; a Trigger with another
// apiVersion, unknown spec fields or invalid values is an error naming the
// source and document.
func Parse(r io.Reader, source string) ([]Trigger, error) {
	dec := yaml.NewDecoder(r)
	var out []Trigger
	for i := 1; ; i++ {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, i, err)
		}
		if len(node.Content) == 0 || (node.Content[0].Kind == yaml.ScalarNode && node.Content[0].Tag == "!!null") {
			continue
		}
		t, ok, err := parseDoc(&node)
		if err != nil {
			if t.Name != "" {
				return nil, fmt.Errorf("%s: document %d (trigger %q): %w", source, i, t.Name, err)
			}
			return nil, fmt.Errorf("%s: document %d: %w", source, i, err)
		}
		if ok {
			t.Source = source
			out = append(out, t)
		}
	}
}

// ParseFile reads the Triggers of one YAML file.
func ParseFile(path string) ([]Trigger, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read triggers: %w", err)
	}
	defer f.Close()
	return Parse(f, path)
}

// LoadDirs reads every *.yaml and *.yml file (not recursing) of each
// directory, in lexical order, and checks that Trigger names are unique.
func LoadDirs(dirs ...string) ([]Trigger, error) {
	var all []Trigger
	seen := map[string]string{}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("read trigger dir: %w", err)
		}
		var files []string
		for _, e := range entries {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
				files = append(files, filepath.Join(dir, e.Name()))
			}
		}
		sort.Strings(files)
		for _, f := range files {
			ts, err := ParseFile(f)
			if err != nil {
				return nil, err
			}
			for _, t := range ts {
				key := t.Namespace + "/" + t.Name
				if prev, dup := seen[key]; dup {
					return nil, fmt.Errorf("%s: trigger %q is also defined in %s", f, t.Name, prev)
				}
				seen[key] = f
				all = append(all, t)
			}
		}
	}
	return all, nil
}

// parseDoc returns ok=false for a document that is not a Trigger.
func parseDoc(node *yaml.Node) (Trigger, bool, error) {
	var t Trigger
	var doc rawDoc
	if err := node.Decode(&doc); err != nil {
		return t, false, err
	}
	if doc.Kind == "" {
		return t, false, errors.New("missing kind")
	}
	if doc.Kind != Kind {
		return t, false, nil
	}
	var meta rawMeta
	if doc.Metadata.Kind != 0 {
		if err := doc.Metadata.Decode(&meta); err != nil {
			return t, false, fmt.Errorf("metadata: %w", err)
		}
	}
	t.Name, t.Namespace = meta.Name, meta.Namespace
	if doc.APIVersion != APIVersion {
		return t, false, fmt.Errorf("apiVersion %q: only %s Triggers are supported", doc.APIVersion, APIVersion)
	}
	if t.Name == "" {
		return t, false, errors.New("metadata.name is required")
	}
	if doc.Spec.Kind == 0 {
		return t, false, errors.New("spec is required")
	}
	spec, err := decodeStrict[rawSpec](&doc.Spec)
	if err != nil {
		return t, false, fmt.Errorf("spec: %w", err)
	}
	if err := fill(&t, spec); err != nil {
		return t, false, err
	}
	return t, true, nil
}

// decodeStrict re-encodes a node and decodes it refusing unknown fields
// (yaml.Node.Decode has no strict mode).
func decodeStrict[T any](n *yaml.Node) (T, error) {
	var v T
	b, err := yaml.Marshal(n)
	if err != nil {
		return v, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&v); err != nil && !errors.Is(err, io.EOF) {
		return v, err
	}
	return v, nil
}

func fill(t *Trigger, s rawSpec) error {
	t.Broker = s.Broker
	if s.BrokerRef != nil {
		if s.Broker != "" {
			return errors.New("spec: set broker or brokerRef, not both")
		}
		t.Broker = s.BrokerRef.Name
	}
	if t.Broker == "" {
		return errors.New("spec.broker is required")
	}
	if s.Filter != nil {
		t.Filter.Attributes = s.Filter.Attributes
		if t.Filter.Attributes == nil {
			t.Filter.Attributes = map[string]string{}
		}
	}
	t.Filter.Filters = s.Filters
	if _, err := filter.Compile(t.Filter); err != nil {
		return fmt.Errorf("spec.%w", err)
	}
	if s.Subscriber == nil {
		return errors.New("spec.subscriber is required")
	}
	dst, err := s.Subscriber.destination()
	if err != nil {
		return fmt.Errorf("spec.subscriber: %w", err)
	}
	t.Subscriber = dst
	if s.Delivery != nil {
		d, err := s.Delivery.delivery()
		if err != nil {
			return fmt.Errorf("spec.delivery: %w", err)
		}
		t.Delivery = &d
	}
	return nil
}

func (r *rawDest) destination() (Destination, error) {
	if r.Ref == nil && r.URI == "" {
		return Destination{}, errors.New("expected exactly one, got neither: ref, uri")
	}
	if r.Ref != nil {
		if r.Ref.Name == "" {
			return Destination{}, errors.New("ref.name is required")
		}
		if r.Ref.Kind == "" {
			return Destination{}, errors.New("ref.kind is required")
		}
	}
	if r.Ref == nil {
		if _, err := parseAbsolute(r.URI); err != nil {
			return Destination{}, err
		}
	}
	return Destination{Ref: r.Ref, URI: r.URI}, nil
}

func (r *rawDelivery) delivery() (Delivery, error) {
	var d Delivery
	if r.Retry != nil {
		if *r.Retry < 0 {
			return d, fmt.Errorf("retry: must be >= 0, got %d", *r.Retry)
		}
		d.Retry = *r.Retry
	}
	if r.BackoffPolicy != nil {
		switch p := BackoffPolicy(*r.BackoffPolicy); p {
		case BackoffLinear, BackoffExponential:
			d.BackoffPolicy = p
		default:
			return d, fmt.Errorf("backoffPolicy: %q is not linear or exponential", *r.BackoffPolicy)
		}
	}
	if r.BackoffDelay != nil {
		v, err := ParseDuration(*r.BackoffDelay)
		if err != nil {
			return d, fmt.Errorf("backoffDelay: %w", err)
		}
		d.BackoffDelay = v
	}
	if r.Timeout != nil {
		v, err := ParseDuration(*r.Timeout)
		if err != nil {
			return d, fmt.Errorf("timeout: %w", err)
		}
		if v <= 0 {
			return d, errors.New("timeout: must be greater than zero")
		}
		d.Timeout = v
	}
	if r.RetryAfterMax != nil {
		if _, err := ParseDuration(*r.RetryAfterMax); err != nil {
			return d, fmt.Errorf("retryAfterMax: %w", err)
		}
	}
	if r.Format != nil {
		switch f := Format(*r.Format); f {
		case FormatBinary, FormatJSON:
			d.Format = f
		default:
			return d, fmt.Errorf("format: %q is not binary or json", *r.Format)
		}
	}
	if r.DeadLetterSink != nil {
		dst, err := r.DeadLetterSink.destination()
		if err != nil {
			return d, fmt.Errorf("deadLetterSink: %w", err)
		}
		d.DeadLetterSink = &dst
	}
	return d, nil
}
