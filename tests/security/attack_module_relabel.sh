# Module identity end to end, with `lilypad run` only: a provider allows one module, named by its
# git repository. The attacker edits that repository's template in its working tree (not
# committed) and runs the folder: before, the offer named the folder's file:// path, the same
# repository the allowlist names, and the provider ran the edited code. Now a folder travels as a
# bundle named by its hash, so the allowlist does not match it. The committed module still runs,
# and a folder module runs from its bundle on a provider that never saw the folder (it is
# deleted once uploaded).
source "$(dirname "$0")/../e2e/lib.sh"
e2e_init
allowed=$(e2e_git_module allowed "echo allowed-module-ran")
e2e_network "allow = [ \"$allowed\" ];"

# The honest, committed module runs on the allowing provider.
e2e_run honest 60 "$allowed" --target "$E2E_PROVIDER1_ADDR"
((E2E_RC == 0)) || e2e_fail "the allowed module exited $E2E_RC: $(e2e_reason honest)"
e2e_expect_in "$E2E_T/honest.out" "allowed-module-ran"

# The relabelling: other code in the allowed repository's folder.
dir=${allowed#file://}
sed -i 's/echo allowed-module-ran/echo relabelled-code-ran/' "$dir/lilypad_module.json.tmpl"
e2e_run relabelled 60 "$dir" --target "$E2E_PROVIDER1_ADDR"
((E2E_RC != 0)) || e2e_fail "the edited folder ran on the provider that allows only the repository"
e2e_expect_reason relabelled "not on its allowlist"
e2e_expect_not_in "$E2E_T/relabelled.out" "relabelled-code-ran"

# A folder module on a provider that does not have the folder: gone once its bundle is uploaded.
local_dir=$(e2e_module local "echo local-folder-ran")
e2e_run_bg local "$local_dir" --target "$E2E_PROVIDER2_ADDR"
uploaded() { grep -q "Module bundle bundle:0x[0-9a-f]* uploaded" "$E2E_T/local.err"; }
e2e_wait_for 30 "the module bundle's upload" uploaded
rm -rf "$local_dir"
e2e_run_wait "$E2E_RUN_PID" 60
((E2E_RC == 0)) || e2e_fail "the folder module exited $E2E_RC: $(e2e_reason local)"
e2e_expect_in "$E2E_T/local.out" "local-folder-ran"
bundle=$(grep -o "bundle:0x[0-9a-f]*" "$E2E_T/local.err" | head -n1)
e2e_expect_in "$E2E_T/p2.log" "module $bundle@"
e2e_log "ok: $(e2e_reason relabelled)"
