package filter

import "testing"

func TestPrefix(t *testing.T) {
	tests := map[string]struct {
		attrs   map[string]string
		want    Result
		wantErr bool
	}{
		"type prefix":            {attrs: map[string]string{"type": "com.example."}, want: Pass},
		"whole value":            {attrs: map[string]string{"type": "com.example.wf.step.completed"}, want: Pass},
		"not a prefix":           {attrs: map[string]string{"type": "example"}, want: Fail},
		"longer than value":      {attrs: map[string]string{"source": "/wf/build/x"}, want: Fail},
		"missing extension":      {attrs: map[string]string{"nosuch": "w"}, want: Fail},
		"unset subject":          {attrs: map[string]string{"subject": "a"}, want: Fail},
		"extension prefix":       {attrs: map[string]string{"workflowid": "wf-"}, want: Pass},
		"int extension via %v":   {attrs: map[string]string{"attempt": "3"}, want: Pass},
		"case-sensitive":         {attrs: map[string]string{"type": "Com."}, want: Fail},
		"two keys ANDed":         {attrs: map[string]string{"type": "com.", "source": "/wf/"}, want: Pass},
		"two keys one fails":     {attrs: map[string]string{"type": "com.", "source": "/other/"}, want: Fail},
		"empty prefix refused":   {attrs: map[string]string{"type": ""}, wantErr: true},
		"empty attribute refuse": {attrs: map[string]string{"": "x"}, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f, err := NewPrefix(tc.attrs)
			if tc.wantErr {
				if err == nil {
					t.Fatal("want error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Evaluate(testEvent(t)); got != tc.want {
				t.Fatalf("Evaluate = %v, want %v", got, tc.want)
			}
		})
	}
}
