# Case 7: a second identity cannot read the first one's deals, files or events through the
# real solver: 403 for anything named, empty lists otherwise. The owner reading the same
# things (200) shows the refusals are about identity, not about broken requests.
source "$(dirname "$0")/lib.sh"
e2e_init
e2e_network
in=$E2E_T/in
mkdir -p "$in"
echo "private words" >"$in/secret.txt"
e2e_run mine 60 "$LP_E2E_SRC/examples/modules/wordcount" --inputs "$in"
((E2E_RC == 0)) || e2e_fail "the owner's job failed (exit $E2E_RC)"
deal=$(e2e_deal_of mine)
[[ -n $deal ]] || e2e_fail "no deal ID in lilypad run's output"
owner=$E2E_T/jc.key
other=$E2E_T/other.key
"$LILYPAD" key new --out "$other" >/dev/null 2>&1

expect_status() { # WHAT WANT GOT
    [[ $3 == "$2" ]] || e2e_fail "$1: HTTP $3, want $2: $(head -c 300 "$E2E_T/resp")"
}

expect_status "owner: deal" 200 "$(e2e_signed "$owner" GET "/api/v1/deals/$deal")"
offer=$(e2e_json_field job_offer_id)
[[ $offer == 0x* ]] || e2e_fail "no job_offer_id in the deal view"
expect_status "owner: job offer" 200 "$(e2e_signed "$owner" GET "/api/v1/job_offers/$offer")"
expect_status "owner: inputs" 200 "$(e2e_signed "$owner" GET "/api/v1/deals/$deal/inputs")"
expect_status "owner: outputs" 200 "$(e2e_signed "$owner" GET "/api/v1/deals/$deal/outputs")"
expect_status "owner: events" 200 "$(e2e_signed "$owner" GET "/api/v1/events?cursor=0&wait=0")"
e2e_expect_in "$E2E_T/resp" "$deal"

for what in "deals/$deal" "deals/$deal/inputs" "deals/$deal/outputs" "job_offers/$offer"; do
    expect_status "other: $what" 403 "$(e2e_signed "$other" GET "/api/v1/$what")"
    e2e_expect_not_in "$E2E_T/resp" "private words"
done
expect_status "other: deal list" 200 "$(e2e_signed "$other" GET /api/v1/deals)"
grep -q '"deals": *\[\]' "$E2E_T/resp" || e2e_fail "other sees deals: $(cat "$E2E_T/resp")"
expect_status "other: offer list" 200 "$(e2e_signed "$other" GET /api/v1/job_offers)"
grep -q '"offers": *\[\]' "$E2E_T/resp" || e2e_fail "other sees offers: $(cat "$E2E_T/resp")"
expect_status "other: events" 200 "$(e2e_signed "$other" GET "/api/v1/events?cursor=0&wait=0")"
grep -q '"events": *\[\]' "$E2E_T/resp" || e2e_fail "other sees events: $(cat "$E2E_T/resp")"
# Nor can it act on them.
expect_status "other: accept" 403 "$(e2e_signed "$other" POST "/api/v1/deals/$deal/accept")"
expect_status "other: cancel offer" 403 \
    "$(e2e_signed "$other" POST "/api/v1/job_offers/$offer/cancel")"
e2e_log "ok"
