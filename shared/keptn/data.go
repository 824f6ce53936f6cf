package keptn

// Status is data.status of a Keptn event.
type Status string

// Statuses. Aborted is not in the spec but used by Keptn's code.
const (
	StatusSucceeded Status = "succeeded"
	StatusErrored   Status = "errored"
	StatusAborted   Status = "aborted"
	StatusUnknown   Status = "unknown"
)

// Result is data.result of a Keptn event.
type Result string

// Results.
const (
	ResultPass    Result = "pass"
	ResultWarning Result = "warning"
	ResultFail    Result = "fail"
)

// Known reports whether r is one of pass, warning, fail.
func (r Result) Known() bool { return r == ResultPass || r == ResultWarning || r == ResultFail }

// Data is the common data block every Keptn event carries. Task payloads live
// beside it under data.<task>; decode the event data into a map for those.
type Data struct {
	Project string            `json:"project,omitempty"`
	Stage   string            `json:"stage,omitempty"`
	Service string            `json:"service,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	Status  Status            `json:"status,omitempty"`
	Result  Result            `json:"result,omitempty"`
	Message string            `json:"message,omitempty"`
}
