# Case 1: jobs that succeed. cowsay with -i Message=... prints the cow with the message;
# wordcount with --inputs returns outputs/counts.txt. Both run at once, one on each provider
# (--target), so both providers are shown to serve.
source "$(dirname "$0")/lib.sh"
e2e_init
e2e_network

in=$E2E_T/wc-in
mkdir -p "$in/sub"
echo "one two three" >"$in/a.txt"
echo "four five" >"$in/sub/b.txt"

e2e_run_bg cowsay "$LP_E2E_SRC/examples/modules/cowsay" -i "Message=hello from e2e" \
    --target "$E2E_PROVIDER1_ADDR"
cow=$E2E_RUN_PID
e2e_run_bg wordcount "$LP_E2E_SRC/examples/modules/wordcount" -i Label=counted --inputs "$in" \
    --output "$E2E_T/wc-out" --target "$E2E_PROVIDER2_ADDR"
wc=$E2E_RUN_PID
e2e_run_wait "$cow" 60
[[ $E2E_RC == 0 ]] || e2e_fail "cowsay: lilypad run exited $E2E_RC"
e2e_run_wait "$wc" 60
[[ $E2E_RC == 0 ]] || e2e_fail "wordcount: lilypad run exited $E2E_RC"

e2e_expect_in "$E2E_T/cowsay.out" "< hello from e2e >"
e2e_expect_in "$E2E_T/cowsay.out" "(oo)"
e2e_expect_in "$E2E_T/cowsay.err" "Results verified"
e2e_expect_in "$E2E_T/wordcount.out" "counted: 2 file(s), 5 word(s)"
counts=$E2E_T/wc-out/outputs/counts.txt
[[ -f $counts ]] || e2e_fail "no $counts"
e2e_expect_in "$counts" "3 a.txt"
e2e_expect_in "$counts" "2 sub/b.txt"

# Each provider ran its job.
for n in 1 2; do
    grep -q "result posted" "$E2E_T/p$n.log" || e2e_fail "provider $n posted nothing"
done
e2e_log "ok"
