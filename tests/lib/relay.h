/*
 * relay.h -- a TCP relay that loses its connections the way a network does
 *
 * fd_test_relay_new() listens on a free 127.0.0.1 port and relays each
 * connection made to it to 127.0.0.1:PORT (a test's redis-server), in a
 * thread of its own. On loopback a server that stops closes its
 * connections for everyone to see; behind the relay, a test can end them
 * the way a host that vanished does, which says nothing until the
 * client sends something:
 *
 *   FD_RELAY_RESET  what the client sends next gets a reset: the server's
 *                   host rebooted, and its new kernel knows no such
 *                   connection
 *   FD_RELAY_DROP   what the client sends is swallowed, and nothing ever
 *                   answers: the host is down, or a NAT or firewall on the
 *                   way forgot the connection
 *
 * fd_test_relay_cut() does that to every connection open at that moment
 * (the server side of each is closed); later ones are relayed as before.
 * fd_test_relay_gather(r, n) holds the clients' bytes back until n
 * connections are open, so that n calls made at once each open one of
 * their own.
 */
#ifndef FD_TEST_RELAY_H
#define FD_TEST_RELAY_H

enum fd_relay_cut { FD_RELAY_RESET, FD_RELAY_DROP };

struct fd_test_relay;

/* fd_test_relay_new - a running relay to 127.0.0.1:port, or NULL */
struct fd_test_relay *fd_test_relay_new(int port);
/* the port it listens on */
int	 fd_test_relay_port(const struct fd_test_relay *);
/* connections accepted since it started */
int	 fd_test_relay_accepted(struct fd_test_relay *);
/* fd_test_relay_gather - hold clients' bytes until n connections are
 * open */
void	 fd_test_relay_gather(struct fd_test_relay *, int n);
/* fd_test_relay_cut - end the open connections, unseen; in effect when it
 * returns */
void	 fd_test_relay_cut(struct fd_test_relay *, enum fd_relay_cut);
/* fd_test_relay_free - stop it, close everything; returns NULL */
struct fd_test_relay *fd_test_relay_free(struct fd_test_relay *);

#endif
