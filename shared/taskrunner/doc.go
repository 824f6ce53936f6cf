// Package taskrunner runs Keptn Lifecycle Toolkit (KLT) KeptnTaskDefinitions
// for Keptn v1 task events: Slipway's "task runner" executor.
//
// # Events
//
// For sh.keptn.event.<task>.triggered the runner picks the definitions to run:
// the names in data.<task>.taskDefinitions (a list, or a comma-separated
// string; a shipyard task's properties.taskDefinitions arrives there) when
// that is set and non-empty, otherwise the one definition named <task>. When
// none of them exists it sends nothing, like every executor that has nothing
// to do. Otherwise it sends one .started, runs all definitions in parallel
// and sends one .finished when all are done. Handle returns once the
// .started was sent (so a long task never holds the broker's request); the
// .finished follows from a goroutine (Wait, Shutdown). The two responses
// have ids derived from the .triggered id, so a redelivery yields the same
// ids; a .triggered that is running or was answered recently is ignored.
//
// The .finished carries data.<task>.definitions: one DefinitionStatus per
// definition (name, runtime, status Pending → Progressing → Succeeded|Failed,
// reason, message, startTime, endTime, attempts, the last attempt's output
// capped at Config.MaxOutput and with secrets redacted, outputTruncated).
// Status and result: all Succeeded → succeeded/pass; only script failures
// (reason BackoffLimitExceeded) → succeeded/fail; any other failure
// (DeadlineExceeded, NotFound, InvalidDefinition, CodeUnavailable,
// SecretUnavailable, RuntimeUnavailable, JobError) → errored/fail; aborted →
// errored/fail with message "aborted". A listed definition that does not
// exist fails with NotFound (KLT would leave the phase pending forever).
//
// sh.keptn.event.<task>.aborted (keptn.KindAborted, triggeredid = the
// task's .triggered id) cancels that task's running definitions: processes
// are killed, Jobs deleted. Abort reaches only the instance running the task.
//
// # Resources
//
// Definitions are project resources read through executor.Resources
// (executor.ResourceClient talks to Keptn's resource-service), each looked
// up at the service, then the stage, then the project level; the stage and
// service reads are pinned to the event's gitcommitid:
//
//	task-definitions/<name>.yaml             holds the KeptnTaskDefinition <name>
//	task-definitions/configmaps/<name>.yaml  a ConfigMap manifest; key "code"
//
// A definition file may carry more YAML documents: a functionRef parent or a
// ConfigMap found in the same file is used before looking up its own file.
//
// # Definitions and merging
//
// See package taskdef for the accepted shapes (v1, v1beta1, v1alpha3 with
// the deprecated spec.function as deno, v1alpha1/2). functionRef chains are
// resolved to any depth (KLT resolves one level), with cycles and chains
// deeper than MaxRefDepth rejected: the code and runtime come from the last
// definition of the chain; parameters of a nearer definition beat a farther
// one's, which beat the task's (data.<task>.parameters); the nearest
// secureParameters.secret and cmdParameters win. Retries and timeout are the
// run definition's. Unlike KLT a task cannot override the secret: the event
// does not choose which secret a script sees.
//
// # Inputs
//
// Scripts get exactly: DATA (JSON of the merged parameters, absent when
// empty), SECURE_DATA (key SECURE_DATA of the named secret, read from
// Config.SecretsDir laid out like mounted Secrets; a missing secret fails the
// definition at once where KLT would wait for the timeout), KEPTN_CONTEXT
// (KeptnContext: KLT's fields mapped from the event plus project, stage,
// service, keptnContext, triggeredid, task, taskDefinition, gitcommitid),
// CMD_ARGS (cmdParameters), SCRIPT (the httpRef URL, else the script path),
// plus PATH (Config.ScriptPATH), HOME (the private work dir) and
// LANG=C.UTF-8. Nothing of the runner's own environment.
//
// # Runtimes
//
//   - deno: `deno run --no-prompt --no-config --no-lock
//     --allow-env=DATA,SECURE_DATA,KEPTN_CONTEXT,CMD_ARGS,SCRIPT --allow-net
//     function.ts` (KLT's network permission; no read or write permission,
//     DENO_DIR inside the work dir). The binary is Config.DenoPath or
//     FindDeno (SLIPWAY_DENO, PATH, hack/deno).
//   - python: `python3 function.py <cmdParameters split on spaces>` (KLT puts
//     CMD_ARGS before the script, i.e. interpreter options; Slipway passes
//     them as script arguments).
//   - container: one Kubernetes Job per attempt through JobRunner (module
//     shared/taskrunner/k8sjob), with DATA, SECURE_DATA (secretKeyRef) and
//     KEPTN_CONTEXT (KLT passes only KEPTN_CONTEXT to containers; Slipway
//     also accepts spec.parameters and spec.secureParameters for them).
//     Without a JobRunner (outside a cluster) it fails with
//     RuntimeUnavailable.
//
// Code for deno and python is written to a fresh private temp dir per
// attempt (inline, configMapRef, a functionRef root's) or downloaded once
// through safehttp (httpRef: a transport error, a non-2xx answer or an empty
// body fails the definition with CodeUnavailable and nothing runs; loopback
// and private hosts need Config.HTTPRefAllowHosts).
//
// # Retries and timeout
//
// A failed attempt (non-zero exit, failed Job) is repeated up to retries
// times (default 10; so at most retries+1 attempts), after
// Config.RetryDelay (default 1s); successes and infrastructure errors are not
// retried. The timeout (default 5m) bounds the whole definition, all
// attempts together, as KLT's Job deadline does; when it passes the attempt
// is killed and the definition fails with DeadlineExceeded.
package taskrunner
