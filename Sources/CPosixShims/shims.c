#define _GNU_SOURCE
#include "CPosixShims.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/lp.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <spawn.h>

int kassa_open_pty_master(char *slave_path, size_t length) {
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -1;
    if (grantpt(fd) != 0 || unlockpt(fd) != 0 || ptsname_r(fd, slave_path, length) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int kassa_lp_get_status(int fd, int *status) {
    return ioctl(fd, LPGETSTATUS, status);
}

int kassa_baud_constant(int baud, unsigned int *speed) {
    switch (baud) {
    case 1200: *speed = B1200; return 0;
    case 2400: *speed = B2400; return 0;
    case 4800: *speed = B4800; return 0;
    case 9600: *speed = B9600; return 0;
    case 19200: *speed = B19200; return 0;
    case 38400: *speed = B38400; return 0;
    case 57600: *speed = B57600; return 0;
    case 115200: *speed = B115200; return 0;
    default: errno = EINVAL; return -1;
    }
}

int kassa_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int kassa_spawn_close_from(posix_spawn_file_actions_t *actions, int from) {
#if __GLIBC_PREREQ(2, 34)
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
#else
    long limit = sysconf(_SC_OPEN_MAX);
    if (limit < 0 || limit > 65536) limit = 65536;
    for (int fd = from; fd < limit; fd++) {
        if (fcntl(fd, F_GETFD) != -1) {
            int result = posix_spawn_file_actions_addclose(actions, fd);
            if (result != 0) return result;
        }
    }
    return 0;
#endif
}
