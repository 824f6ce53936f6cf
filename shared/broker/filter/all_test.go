package filter

import "testing"

func TestAll(t *testing.T) {
	tests := map[string]struct {
		children []Filter
		want     Result
	}{
		"no children":             {nil, NoFilter},
		"one pass":                {[]Filter{fixed(Pass)}, Pass},
		"one fail":                {[]Filter{fixed(Fail)}, Fail},
		"all pass":                {[]Filter{fixed(Pass), fixed(Pass)}, Pass},
		"one fails":               {[]Filter{fixed(Pass), fixed(Fail), fixed(Pass)}, Fail},
		"first fails":             {[]Filter{fixed(Fail), fixed(Pass)}, Fail},
		"trailing nofilter wins":  {[]Filter{fixed(Pass), fixed(NoFilter)}, NoFilter},
		"leading nofilter ignore": {[]Filter{fixed(NoFilter), fixed(Pass)}, Pass},
		"nofilter then fail":      {[]Filter{fixed(NoFilter), fixed(Fail)}, Fail},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := NewAll(tc.children...).Evaluate(testEvent(t)); got != tc.want {
				t.Fatalf("Evaluate = %v, want %v", got, tc.want)
			}
		})
	}
}
