/*
 * frontend/netfs_opts.h - private to frontend/: the network, 9p and console
 * options (netfs_opts.c) that options.c hands over.
 */
#ifndef QTEMU_FRONTEND_NETFS_OPTS_H
#define QTEMU_FRONTEND_NETFS_OPTS_H

struct qtemu_options;

/** -netdev user,id=N[,hostfwd=...]. 0 or -1 after one error line. */
int qtemu_parse_netdev(const char *arg);
/** -nic user[,hostfwd=...][,mac=M][,model=virtio-net-pci]. 0 or -1. */
int qtemu_parse_nic(const char *arg);
/** -fsdev local,id=F,path=DIR,security_model=none|mapped-xattr[,readonly=on]. 0 or -1. */
int qtemu_parse_fsdev(const char *arg);
/** -virtfs local,path=DIR,mount_tag=TAG,security_model=...[,readonly=on][,id=F]. 0 or -1. */
int qtemu_parse_virtfs(const char *arg);
/** -chardev pipe|file|null,id=ID[,path=P]: opens and registers it. 0 or -1. */
int qtemu_parse_chardev(const char *arg);
/**
 * -device virtio-net-pci|-device, virtio-9p-pci|-device, virtio-serial-pci|
 * -device, virtconsole. 0 handled, -1 error printed, 1 not one of these.
 */
int qtemu_parse_netfs_device(const char *arg);
/** Resolve netdev=/fsdev=/chardev= references and append the devices. 0 or -1. */
int qtemu_netfs_opts_finish(struct qtemu_options *o);

#endif
