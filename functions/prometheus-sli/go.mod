module github.com/slipwayhq/slipway/functions/prometheus-sli

go 1.26.8

require github.com/slipwayhq/slipway v0.0.0
