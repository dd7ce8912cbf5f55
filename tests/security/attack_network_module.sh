# Attack: a module's spec asks for network ("Network": {"Type": "Full"}) and its job reaches
# the provider's own machine: the solver on 127.0.0.1, every loopback service of the host.
# Through `lilypad run`, against real providers:
#   - provider 1 keeps the default (provider.module_network = "refuse"): the deal is refused
#     before anything runs, and the job creator reads why;
#   - provider 2 says module_network = "egress": the job runs with outbound network, and the
#     solver on the provider's loopback is out of its reach, directly or through slirp4netns's
#     gateway (where this machine cannot give such network, it is refused with the hint).
source "$(dirname "$0")/../e2e/lib.sh"
e2e_init
e2e_solver_start
e2e_provider_start 1 ''

mod=$E2E_T/modules/e2e-network
mkdir -p "$mod"
cat >"$mod/lilypad_module.json.tmpl" <<JSON
{"machine": {"gpu": 0, "cpu": 500, "ram": 64},
 "job": {"APIVersion": "V1beta1", "Spec": {
  "Docker": {"Image": "lilypad-example/cowsay:v1",
             "Entrypoint": ["/bin/sh", "-c", "echo THE-JOB-RAN; for a in 127.0.0.1 10.0.2.2; do if echo x | nc -w 3 \$a $E2E_PORT >/dev/null 2>&1; then echo SOLVER-REACHED-AT-\$a; else echo solver-unreachable-at-\$a; fi; done"]},
  "Network": {"Type": "Full"}, "Timeout": 60}}}
JSON

e2e_run refused 60 "$mod" --target "$E2E_PROVIDER1_ADDR"
((E2E_RC != 0)) || e2e_fail "lilypad run exited 0 for a module the provider must refuse"
e2e_expect_reason refused "refused by the provider"
e2e_expect_reason refused 'provider.module_network = "refuse"'
e2e_expect_not_in "$E2E_T/refused.out" "THE-JOB-RAN"
e2e_expect_not_in "$E2E_T/refused.err" "THE-JOB-RAN"

e2e_provider_start 2 'module_network = "egress";'
e2e_run egress 90 "$mod" --target "$E2E_PROVIDER2_ADDR"
if ((E2E_RC != 0)) && [[ $(e2e_reason egress) == *"cannot give outbound-only network"* ]]; then
    e2e_log "provider 2: $(e2e_reason egress)"
    e2e_skip "this machine cannot give a job outbound-only network (root, slirp4netns, nftables)"
fi
((E2E_RC == 0)) || e2e_fail "the egress job failed (exit $E2E_RC): $(e2e_reason egress)"
e2e_expect_in "$E2E_T/egress.out" "THE-JOB-RAN"
e2e_expect_not_in "$E2E_T/egress.out" "SOLVER-REACHED"
e2e_expect_in "$E2E_T/egress.out" "solver-unreachable-at-127.0.0.1"
e2e_expect_in "$E2E_T/egress.out" "solver-unreachable-at-10.0.2.2"
e2e_log "ok: $(e2e_reason refused)"
