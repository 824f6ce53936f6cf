package filter

import "testing"

func TestAttributes(t *testing.T) {
	tests := map[string]struct {
		attrs map[string]string
		want  Result
	}{
		"nil map is no filter":          {nil, NoFilter},
		"empty map passes":              {map[string]string{}, Pass},
		"type exact":                    {map[string]string{"type": "com.example.wf.step.completed"}, Pass},
		"type differs":                  {map[string]string{"type": "com.example"}, Fail},
		"two keys ANDed":                {map[string]string{"type": "com.example.wf.step.completed", "source": "/wf/build"}, Pass},
		"one of two keys differs":       {map[string]string{"type": "com.example.wf.step.completed", "source": "/x"}, Fail},
		"extension exact":               {map[string]string{"workflowid": "wf-42"}, Pass},
		"missing extension":             {map[string]string{"nosuch": "x"}, Fail},
		"missing extension with any":    {map[string]string{"nosuch": ""}, Fail},
		"present extension with any":    {map[string]string{"workflowid": ""}, Pass},
		"empty extension with any":      {map[string]string{"empty": ""}, Fail},
		"unset subject with any":        {map[string]string{"subject": ""}, Fail},
		"non-string extension no match": {map[string]string{"attempt": "3"}, Fail},
		"case-sensitive value":          {map[string]string{"workflowid": "WF-42"}, Fail},
		"time as RFC3339":               {map[string]string{"time": "2024-05-06T07:08:09Z"}, Pass},
		"specversion":                   {map[string]string{"specversion": "1.0"}, Pass},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := testEvent(t)
			got := NewAttributes(tc.attrs).Evaluate(e)
			if got != tc.want {
				t.Fatalf("Evaluate = %v, want %v", got, tc.want)
			}
		})
	}
}
