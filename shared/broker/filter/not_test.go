package filter

import "testing"

func TestNot(t *testing.T) {
	tests := map[string]struct {
		child Filter
		want  Result
	}{
		"pass becomes fail":  {fixed(Pass), Fail},
		"fail becomes pass":  {fixed(Fail), Pass},
		"nofilter stays":     {fixed(NoFilter), NoFilter},
		"nil child":          {nil, NoFilter},
		"not of exact match": {NewAttributes(map[string]string{"type": "com.example.wf.step.completed"}), Fail},
		"not of missing ext": {NewAttributes(map[string]string{"nosuch": "x"}), Pass},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := NewNot(tc.child).Evaluate(testEvent(t)); got != tc.want {
				t.Fatalf("Evaluate = %v, want %v", got, tc.want)
			}
		})
	}
}
