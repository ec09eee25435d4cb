/*
 * The pod sandbox process ("pause" image) for containerd's CRI, built by scripts/build-image.sh.
 *
 * It exists only to hold the pod's namespaces open: it does nothing but wait for signals.
 *   SIGCHLD         reap every exited child (when the pod shares one PID namespace this is PID 1, and orphans of
 *                   the other containers are reparented to it)
 *   SIGINT/SIGTERM  exit 0, which is how the runtime stops the sandbox
 * As PID 1 the kernel drops any signal without a handler, so the handlers above are all that can stop it (apart
 * from SIGKILL, which the runtime sends last).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAUSE_VERSION "glance-operator-pause 1"

static void on_stop(int sig) {
  (void)sig;
  _exit(0);
}

static void on_child(int sig) {
  (void)sig;
  int saved = errno;
  /* One SIGCHLD may stand for several exits: collect all of them, without blocking. */
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}

static int handle(int sig, void (*fn)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sa.sa_flags = flags;
  sigfillset(&sa.sa_mask); /* handlers never interrupt each other */
  if (sigaction(sig, &sa, NULL) != 0) {
    fprintf(stderr, "pause: sigaction(%s): %s\n", strsignal(sig), strerror(errno));
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1) {
    if (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0) {
      puts(PAUSE_VERSION);
      return 0;
    }
    fprintf(stderr, "usage: %s [-v|--version]\n", argv[0]);
    return 2;
  }
  if (handle(SIGINT, on_stop, 0) || handle(SIGTERM, on_stop, 0) ||
      handle(SIGCHLD, on_child, SA_NOCLDSTOP | SA_RESTART))
    return 1;
  if (getpid() != 1)
    fprintf(stderr, "pause: not PID 1 (pid %ld): orphans of the pod are not reparented here\n", (long)getpid());
  /* Children may have exited before the SIGCHLD handler was installed. */
  on_child(SIGCHLD);
  for (;;)
    pause();
}
