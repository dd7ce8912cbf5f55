/* The `lilypad` command table. Each command lives in its own cmd_<name>.c, handles its own
 * `--help`, and returns the process exit status (0 ok, 1 failure, 2 usage error). */
#ifndef LP_CLI_COMMANDS_H
#define LP_CLI_COMMANDS_H

struct lp_command {
    const char *name;
    const char *summary;               /* one line for `lilypad --help` */
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

int lp_cmd_version(int argc, char **argv);
int lp_cmd_hashrate(int argc, char **argv);
int lp_cmd_key(int argc, char **argv);
int lp_cmd_module(int argc, char **argv);
int lp_cmd_plugins(int argc, char **argv);
int lp_cmd_config(int argc, char **argv);
int lp_cmd_solver(int argc, char **argv);
int lp_cmd_provider(int argc, char **argv);
int lp_cmd_cid(int argc, char **argv);
int lp_cmd_image(int argc, char **argv);
int lp_cmd_run(int argc, char **argv);
int lp_cmd_devnet(int argc, char **argv);

/* NULL-terminated, in the order `lilypad --help` lists them. */
extern const struct lp_command lp_commands[];

#endif
