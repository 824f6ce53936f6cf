package filter

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
)

// Spec is the filtering part of a Trigger spec.
type Spec struct {
	// Attributes is spec.filter.attributes (legacy dialect). nil when the
	// Trigger has no filter; an empty map also passes every event.
	Attributes map[string]string
	// Filters is spec.filters (the subscriptions-API dialects), ANDed. When
	// non-empty it wins over Attributes, as in Knative's broker filter.
	Filters []Expr
}

// Expr is one element of spec.filters; exactly one dialect must be set.
type Expr struct {
	Exact  map[string]string `json:"exact,omitempty" yaml:"exact,omitempty"`
	Prefix map[string]string `json:"prefix,omitempty" yaml:"prefix,omitempty"`
	Suffix map[string]string `json:"suffix,omitempty" yaml:"suffix,omitempty"`
	All    []Expr            `json:"all,omitempty" yaml:"all,omitempty"`
	Any    []Expr            `json:"any,omitempty" yaml:"any,omitempty"`
	Not    *Expr             `json:"not,omitempty" yaml:"not,omitempty"`
	CESQL  string            `json:"cesql,omitempty" yaml:"cesql,omitempty"`
}

// ErrCESQLUnsupported is returned (wrapped) for any cesql filter.
var ErrCESQLUnsupported = errors.New("cesql filters are not supported by the dev broker; use exact, prefix, suffix, all, any, not")

// Same rule as Knative's trigger validation: lower-case alphanumeric, leading letter.
var validAttributeName = regexp.MustCompile(`^[a-z][a-z0-9]*$`)

// Compile validates a Trigger's filter spec and returns its Filter.
// Errors name the offending path, e.g. "filters[1].any[0].exact[Type]: …".
func Compile(s Spec) (Filter, error) {
	if len(s.Filters) > 0 {
		children, err := compileList(s.Filters, "filters")
		if err != nil {
			return nil, err
		}
		return NewAll(children...), nil
	}
	if s.Attributes != nil {
		if err := checkNames(s.Attributes, "filter.attributes"); err != nil {
			return nil, err
		}
		return NewAttributes(s.Attributes), nil
	}
	return noFilter(), nil
}

// CompileExpr validates and compiles one spec.filters element.
func CompileExpr(x Expr) (Filter, error) { return compileExpr(x, "filters[0]") }

func compileList(xs []Expr, path string) ([]Filter, error) {
	out := make([]Filter, 0, len(xs))
	for i, x := range xs {
		f, err := compileExpr(x, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func compileExpr(x Expr, path string) (Filter, error) {
	var set []string
	if len(x.Exact) > 0 {
		set = append(set, "exact")
	}
	if len(x.Prefix) > 0 {
		set = append(set, "prefix")
	}
	if len(x.Suffix) > 0 {
		set = append(set, "suffix")
	}
	if len(x.All) > 0 {
		set = append(set, "all")
	}
	if len(x.Any) > 0 {
		set = append(set, "any")
	}
	if x.Not != nil {
		set = append(set, "not")
	}
	if x.CESQL != "" {
		set = append(set, "cesql")
	}
	switch len(set) {
	case 0:
		return nil, fmt.Errorf("%s: no dialect set (want one of exact, prefix, suffix, all, any, not)", path)
	case 1:
	default:
		return nil, fmt.Errorf("%s: multiple dialects found (%v), a filter can have only one", path, set)
	}
	p := path + "." + set[0]
	wrap := func(f Filter, err error) (Filter, error) {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		return f, nil
	}
	switch set[0] {
	case "exact":
		if err := checkNames(x.Exact, p); err != nil {
			return nil, err
		}
		return wrap(NewExact(x.Exact))
	case "prefix":
		if err := checkNames(x.Prefix, p); err != nil {
			return nil, err
		}
		return wrap(NewPrefix(x.Prefix))
	case "suffix":
		if err := checkNames(x.Suffix, p); err != nil {
			return nil, err
		}
		return wrap(NewSuffix(x.Suffix))
	case "all":
		c, err := compileList(x.All, p)
		if err != nil {
			return nil, err
		}
		return NewAll(c...), nil
	case "any":
		c, err := compileList(x.Any, p)
		if err != nil {
			return nil, err
		}
		return NewAny(c...), nil
	case "not":
		c, err := compileExpr(*x.Not, p)
		if err != nil {
			return nil, err
		}
		return NewNot(c), nil
	default:
		return nil, fmt.Errorf("%s: %w", p, ErrCESQLUnsupported)
	}
}

func checkNames(attrs map[string]string, path string) error {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !validAttributeName.MatchString(k) {
			return fmt.Errorf("%s[%s]: invalid attribute name: must start with a letter and contain only lower-case letters and digits", path, k)
		}
	}
	return nil
}
