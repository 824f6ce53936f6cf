package filter

import "testing"

func TestExact(t *testing.T) {
	tests := map[string]struct {
		attrs   map[string]string
		want    Result
		wantErr bool
	}{
		"type matches":                 {attrs: map[string]string{"type": "com.example.wf.step.completed"}, want: Pass},
		"type differs":                 {attrs: map[string]string{"type": "com.example.wf.step"}, want: Fail},
		"case-sensitive":               {attrs: map[string]string{"type": "COM.example.wf.step.completed"}, want: Fail},
		"extension matches":            {attrs: map[string]string{"workflowid": "wf-42"}, want: Pass},
		"missing extension":            {attrs: map[string]string{"nosuch": "wf-42"}, want: Fail},
		"unset subject":                {attrs: map[string]string{"subject": "x"}, want: Fail},
		"int extension via %v":         {attrs: map[string]string{"attempt": "3"}, want: Pass},
		"two keys ANDed":               {attrs: map[string]string{"workflowid": "wf-42", "source": "/wf/build"}, want: Pass},
		"two keys one fails":           {attrs: map[string]string{"workflowid": "wf-42", "source": "/wf/x"}, want: Fail},
		"empty value refused":          {attrs: map[string]string{"type": ""}, wantErr: true},
		"empty attribute name refused": {attrs: map[string]string{"": "x"}, wantErr: true},
		"empty map refused":            {attrs: map[string]string{}, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f, err := NewExact(tc.attrs)
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
