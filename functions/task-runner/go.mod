module github.com/slipwayhq/slipway/functions/task-runner

go 1.26.8

require (
	github.com/slipwayhq/slipway v0.0.0
	github.com/slipwayhq/slipway/shared/taskrunner/k8sjob v0.0.0
)

replace github.com/slipwayhq/slipway/shared/taskrunner/k8sjob => ../../shared/taskrunner/k8sjob
