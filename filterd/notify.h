/*
 * notify.h -- telling the service manager how the daemon is doing
 *
 * Under systemd (Type=notify, contrib/systemd/filterd.service) filterd
 * says when it serves, reloads and stops, so that an MTA ordered after
 * it is started once the milter socket answers. Outside one
 * (NOTIFY_SOCKET unset), or built without libsystemd, these do nothing.
 */
#ifndef FD_NOTIFY_H
#define FD_NOTIFY_H

/* fd_notify_ready - serving the socket, with what systemctl status shows */
void	 fd_notify_ready(const char *socket, unsigned long long generation);
/* fd_notify_reloading - a reload has begun; fd_notify_ready ends it */
void	 fd_notify_reloading(void);
/* fd_notify_stopping - no longer taking connections */
void	 fd_notify_stopping(void);

#endif
