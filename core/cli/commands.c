#include "commands.h"

#include <stddef.h>

const struct lp_command lp_commands[] = {
    {"plugins", "list plugins and their load state, or inspect one", lp_cmd_plugins},
    {"config", "check a configuration file or dump its effective values", lp_cmd_config},
    {"key", "create, import or show a node identity (secp256k1 key)", lp_cmd_key},
    {"module", "resolve a module to its ID and commit, or render its job spec", lp_cmd_module},
    {"cid", "print the IPFS CID of a file or directory (as ipfs add --only-hash)", lp_cmd_cid},
    {"hashrate", "measure proof-of-work hashes/s per device, or verify a nonce", lp_cmd_hashrate},
    {"image", "import, list and remove images in the local image store", lp_cmd_image},
    {"solver", "run the solver: offers, matching, deals and events over HTTP", lp_cmd_solver},
    {"provider", "run a resource provider: offers, deals through the plugins, results",
     lp_cmd_provider},
    {"run", "run a module on the network and print its verified results", lp_cmd_run},
    {"devnet", "run a solver and a provider in one process for local use", lp_cmd_devnet},
    {"version", "print the version and the plugin ABI", lp_cmd_version},
    {NULL, NULL, NULL},
};
