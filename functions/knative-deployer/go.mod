module github.com/slipwayhq/slipway/functions/knative-deployer

go 1.26.8

require (
	github.com/slipwayhq/slipway v0.0.0
	github.com/slipwayhq/slipway/shared/deployer/knative v0.0.0
)

replace (
	github.com/slipwayhq/slipway => ../..
	github.com/slipwayhq/slipway/shared/deployer/knative => ../../shared/deployer/knative
)
