/* The registry: every component type the agent knows, in one static NULL-terminated array. Adding a
 * component is one new file plus one line in components.c. */
#ifndef OCA_AGENT_COMPONENTS_H
#define OCA_AGENT_COMPONENTS_H

#include "pipeline/component.h"

extern const struct oca_component_type *const oca_components[];

#endif
