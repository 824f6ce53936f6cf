// Package projectdoc is the body of a store.Project: the shipyard, the
// stages in shipyard order and the services of each stage. The API writes
// it; the control plane may read it and maintain the per-service views
// (deployedImage, lastEventTypes) that Keptn kept in its projects view.
package projectdoc

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/slipwayhq/slipway/shared/store"
)

// ShipyardURI is the project-level resource holding the shipyard; the
// control plane reads the shipyard from there.
const ShipyardURI = "shipyard.yaml"

// Doc is a project's body.
type Doc struct {
	// Shipyard is the shipyard YAML as the user gave it.
	Shipyard string `json:"shipyard"`
	// ShipyardVersion is the shipyard's apiVersion.
	ShipyardVersion string `json:"shipyardVersion,omitempty"`
	// GitCredentials keeps the non-secret part of the credentials given at
	// creation (Slipway has no git upstream; tokens and keys are never stored).
	GitCredentials *GitCredentials `json:"gitCredentials,omitempty"`
	Stages         []Stage         `json:"stages"`
}

// GitCredentials is what Keptn shows of a project's git credentials.
type GitCredentials struct {
	RemoteURL string     `json:"remoteURL,omitempty"`
	User      string     `json:"user,omitempty"`
	HTTPS     *HTTPSInfo `json:"https,omitempty"`
}

// HTTPSInfo is the non-secret part of HTTPS credentials.
type HTTPSInfo struct {
	InsecureSkipTLS bool `json:"insecureSkipTLS"`
}

// Stage is a stage with its services, sorted by name.
type Stage struct {
	Name     string    `json:"name"`
	Services []Service `json:"services"`
}

// Service is a service of one stage.
type Service struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	// DeployedImage and LastEventTypes are maintained by the control plane.
	DeployedImage  string              `json:"deployedImage,omitempty"`
	LastEventTypes map[string]EventRef `json:"lastEventTypes,omitempty"`
}

// EventRef names the last event of one type seen for a service.
type EventRef struct {
	EventID      string    `json:"eventId"`
	KeptnContext string    `json:"keptnContext"`
	Time         time.Time `json:"time"`
}

// Decode reads a project's body.
func Decode(p *store.Project) (*Doc, error) {
	var d Doc
	if err := json.Unmarshal(p.Body, &d); err != nil {
		return nil, fmt.Errorf("decode project %s: %w", p.Name, err)
	}
	return &d, nil
}

// Encode renders the body.
func (d *Doc) Encode() ([]byte, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode project: %w", err)
	}
	return b, nil
}

// Stage returns the named stage or nil.
func (d *Doc) Stage(name string) *Stage {
	for i := range d.Stages {
		if d.Stages[i].Name == name {
			return &d.Stages[i]
		}
	}
	return nil
}

// Service returns the named service or nil.
func (s *Stage) Service(name string) *Service {
	for i := range s.Services {
		if s.Services[i].Name == name {
			return &s.Services[i]
		}
	}
	return nil
}

// AddService adds a service to the stage, keeping the list sorted; false if it exists.
func (s *Stage) AddService(svc Service) bool {
	i, found := slices.BinarySearchFunc(s.Services, svc.Name, func(a Service, n string) int {
		switch {
		case a.Name < n:
			return -1
		case a.Name > n:
			return 1
		}
		return 0
	})
	if found {
		return false
	}
	s.Services = slices.Insert(s.Services, i, svc)
	return true
}

// RemoveService removes a service from the stage; false if absent.
func (s *Stage) RemoveService(name string) bool {
	n := len(s.Services)
	s.Services = slices.DeleteFunc(s.Services, func(x Service) bool { return x.Name == name })
	return len(s.Services) != n
}
