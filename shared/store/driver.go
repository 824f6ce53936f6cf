package store

// Driver is what a storage engine implements: the four groups every store
// has, its declaration of the optional ones, and Close. The portable layer
// (New) checks the rules listed in the package documentation before
// calling a driver, so a driver does not repeat them.
type Driver interface {
	RunStore
	ProjectStore
	EventStore
	ResourceStore
	// Features declares the optional groups and the capabilities the driver
	// has, in one place; it is read once, by New.
	Features() Features
	Close() error
}

// Features is a driver's declaration of what it has beyond the four groups.
// A nil group or capability is one the driver does not have.
type Features struct {
	// Integrations is the driver's integration registry and logs.
	Integrations IntegrationStore
	// Secrets is the driver's secret storage.
	Secrets SecretStore
	// Capabilities are the optional behaviours (lazy syncs, health, ...).
	Capabilities Capabilities
}
