/* The config ocagent runs when given no --config: printed by --print-default-config. */
#ifndef OCA_AGENT_DEFAULT_CONFIG_H
#define OCA_AGENT_DEFAULT_CONFIG_H

extern const char oca_default_config[];

#endif
