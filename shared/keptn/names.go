package keptn

import "fmt"

// ValidateName applies Keptn's rule for project, stage and service names
// (go-utils ValidateKeptnEntityName): a lower-case letter, then lower-case
// letters, digits and '-', not ending in '-'. Names reach script
// environments, file paths and resource URIs, so nothing else may enter:
// no quotes, '$', ';', backticks, '\', blanks, Unicode or control characters.
func ValidateName(name string) error {
	if !validName(name) {
		return fmt.Errorf("%q must start with a lower case letter and contain only lower case letters, digits and '-', not ending in '-'", name)
	}
	return nil
}

func validName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// Validate checks the scope's names that are set (an empty field is
// absent, which the event's type may allow).
func (s Scope) Validate() error {
	for _, f := range []struct{ field, v string }{{"project", s.Project}, {"stage", s.Stage}, {"service", s.Service}} {
		if f.v == "" {
			continue
		}
		if err := ValidateName(f.v); err != nil {
			return fmt.Errorf("data.%s: %w", f.field, err)
		}
	}
	return nil
}
