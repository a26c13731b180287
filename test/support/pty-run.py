"""Runs a command on a pseudo-terminal (120x40) and answers its prompts.

argv[1]: JSON list of {"expect": text, "send": text}, answered in order: each `send` is typed
once `expect` has appeared in the output after the previous answer. argv[2:]: the command.
Everything the command prints goes to stdout as is; the exit code is the command's. A command
still running after 180 s (or $PTY_RUN_TIMEOUT_S) is killed (exit 124)."""
import fcntl, json, os, pty, select, signal, struct, sys, termios, time

steps = json.loads(sys.argv[1])
argv = sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
os.kill(pid, signal.SIGWINCH)
buf, seen, i = b"", 0, 0
deadline = time.time() + float(os.environ.get("PTY_RUN_TIMEOUT_S", "180"))
while True:
    if time.time() > deadline:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        sys.exit(124)
    ready, _, _ = select.select([fd], [], [], 0.2)
    if fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if not data:
            break
        buf += data
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    while i < len(steps):
        at = buf.find(steps[i]["expect"].encode(), seen)
        if at < 0:
            break
        seen = at + len(steps[i]["expect"])
        os.write(fd, steps[i]["send"].encode())
        i += 1
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
