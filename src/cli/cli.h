/* cli/cli.h: the aigate command line (serve, config, accounts, version, help). */
#ifndef AG_CLI_CLI_H
#define AG_CLI_CLI_H

/** Runs the command described by argv; returns the process exit code. */
int ag_cli_main(int argc, char **argv);

#endif
