/*
 * badabi.c -- a plugin built for an ABI major filterd does not have,
 * so the loader's refusal can be tested.
 */
#include <filterd/plugin.h>

FD_PLUGIN_EXPORT = {
	.magic = FD_PLUGIN_MAGIC,
	.abi_major = FD_PLUGIN_ABI_MAJOR + 98,
	.abi_minor = 0,
	.size = sizeof(struct fd_plugin),
	.name = "badabi",
};
