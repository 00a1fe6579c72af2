/* cli/serve.h: `aigate serve` — builds the gateway from a loaded configuration and runs it until
 * SIGINT/SIGTERM. */
#ifndef AG_CLI_SERVE_H
#define AG_CLI_SERVE_H

struct ag_config;

/**
 * Runs the gateway with cfg (borrowed for the call; the config layer's snapshot) until a stop
 * signal; returns the process exit code (0 after a graceful stop).
 */
int ag_cli_serve(struct ag_config *cfg);

#endif
