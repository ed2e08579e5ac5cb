#ifndef KASSA_CPOSIXSHIMS_H
#define KASSA_CPOSIXSHIMS_H
#include <stddef.h>
#include <spawn.h>

/// Opens a pseudo-terminal master (non-blocking) and writes the slave's path into `slave_path`.
/// Returns the master descriptor, or -1 with errno set.
int kassa_open_pty_master(char *slave_path, size_t length);

/// ioctl(LPGETSTATUS) on a usblp character device; returns 0 and the IEEE-1284 status byte, or -1 with errno.
int kassa_lp_get_status(int fd, int *status);

/// Sets the baud rate (any of 1200 ... 115200) on a termios structure held as opaque bytes by Swift.
int kassa_baud_constant(int baud, unsigned int *speed);
/// pipe2(O_CLOEXEC): both ends close-on-exec from birth, so no child started meanwhile by another thread inherits them.
int kassa_pipe_cloexec(int fds[2]);

/// Adds "close every descriptor from `from` up" to a spawn's file actions, so a child inherits only its standard
/// streams, whatever this process (or a library in it) opened without close-on-exec. Returns 0 or an error number.
int kassa_spawn_close_from(posix_spawn_file_actions_t *actions, int from);
#endif
