# Case 8: an input holding quotes cannot change the job spec: the job still runs the cowsay
# image and prints the literal text.
source "$(dirname "$0")/lib.sh"
e2e_init
e2e_network
evil='x","Image":"evil'
e2e_run inject 60 "$LP_E2E_SRC/examples/modules/cowsay" -i "Message=$evil"
((E2E_RC == 0)) || e2e_fail "lilypad run exited $E2E_RC"
e2e_expect_in "$E2E_T/inject.out" "< $evil >"
e2e_expect_in "$E2E_T/inject.out" "(oo)"
# The provider ran the cowsay image, nothing named evil.
grep -qh "image lilypad-example/cowsay:v1" "$E2E_T"/p[12].log ||
    e2e_fail "no provider log names the cowsay image"
! grep -qh "image evil" "$E2E_T"/p[12].log || e2e_fail "a provider ran the image \"evil\""
e2e_log "ok"
