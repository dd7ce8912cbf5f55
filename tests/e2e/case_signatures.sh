# Case 6: bad and replayed signatures are refused by the real solver process with the
# documented status (core/solver/README.md: 401 bad, stale or replayed signature; 400
# malformed or missing headers). Requests
# are signed by tests/e2e/e2e_sign and sent with curl, so the very same headers can be sent
# twice or tampered with.
source "$(dirname "$0")/lib.sh"
e2e_init
e2e_solver_start
key=$E2E_T/jc.key
"$LILYPAD" key new --out "$E2E_T/other.key" >/dev/null 2>&1
refused0=$(e2e_metric http_auth_refused_total)

expect_status() { # WHAT WANT GOT
    [[ $3 == "$2" ]] || e2e_fail "$1: HTTP $3, want $2: $(cat "$E2E_T/resp" 2>/dev/null)"
}

# A signed read, then the same request again: the replay is refused.
expect_status "signed GET" 200 "$(e2e_signed "$key" GET /api/v1/deals)"
expect_status "replayed GET" 401 "$(e2e_send GET /api/v1/deals)"
e2e_expect_in "$E2E_T/resp" "fresh random nonce"

# A signed write (a file upload), replayed.
printf 'input bytes\n' >"$E2E_T/body"
expect_status "signed upload" 200 "$(e2e_signed "$key" POST /api/v1/files "$E2E_T/body")"
expect_status "replayed upload" 401 "$(e2e_send POST /api/v1/files "$E2E_T/body")"

# A corrupted signature: one hex digit of r changed, so it stays well-formed but recovers
# another address (or none).
"$E2E_SIGN" "$key" GET /api/v1/deals >"$E2E_T/hdrs"
sig=$(grep -i '^X-Lilypad-Signature:' "$E2E_T/hdrs" | sed 's/.*: *//')
digit=${sig:10:1}
[[ $digit == 0 ]] && bad=1 || bad=0
sed -i "s/^X-Lilypad-Signature: .*/X-Lilypad-Signature: ${sig:0:10}$bad${sig:11}/" "$E2E_T/hdrs"
expect_status "corrupted signature" 401 "$(e2e_send GET /api/v1/deals)"

# A signature over another body than the one sent.
printf 'the body that was signed\n' >"$E2E_T/signed"
printf 'the body that was sent!!\n' >"$E2E_T/sent"
"$E2E_SIGN" "$key" POST /api/v1/files "$E2E_T/signed" >"$E2E_T/hdrs"
expect_status "tampered body" 401 "$(e2e_send POST /api/v1/files "$E2E_T/sent")"

# Another target than the one signed.
"$E2E_SIGN" "$key" GET /api/v1/deals >"$E2E_T/hdrs"
expect_status "other target" 401 "$(e2e_send GET /api/v1/job_offers)"

# Signed by one key, claiming another's address.
"$E2E_SIGN" "$E2E_T/other.key" GET /api/v1/deals >"$E2E_T/hdrs"
sed -i "s/^X-Lilypad-Address: .*/X-Lilypad-Address: $E2E_JC_ADDR/" "$E2E_T/hdrs"
expect_status "claimed address" 401 "$(e2e_send GET /api/v1/deals)"

# Signed 60 s ago: stale (the window is 30 s).
E2E_SIGN_AGE_S=60 "$E2E_SIGN" "$key" GET /api/v1/deals >"$E2E_T/hdrs"
expect_status "stale" 401 "$(e2e_send GET /api/v1/deals)"
e2e_expect_in "$E2E_T/resp" "clock"

# No signature at all.
: >"$E2E_T/hdrs"
expect_status "unsigned" 400 "$(e2e_send GET /api/v1/deals)"

refused=$(($(e2e_metric http_auth_refused_total) - refused0))
((refused == 8)) || e2e_fail "the solver counted $refused refused requests, want 8"
# The solver still serves well-signed requests.
expect_status "signed GET after the refusals" 200 "$(e2e_signed "$key" GET /api/v1/deals)"
e2e_log "ok"
