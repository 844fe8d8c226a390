/*
 * nosym.c -- a shared object without the filterd_plugin entry symbol.
 */
__attribute__((visibility("default"))) int filterd_not_a_plugin = 1;
