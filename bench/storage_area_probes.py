"""What bench/storage_area.py reads from /proc and sets with sched_setaffinity: CPU time and memory of a process
tree, and the cores its threads may run on.

Affinity is set on every thread of every process of a tree (/proc/PID/task/*, then the children of each): a thread
created later inherits its creator's, so a running Orthanc or Azurite stays where it was put.
"""
import os

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def tree(pid):
    """pid and its descendants (running ones), parents first."""
    found, queue = [], [pid] if pid else []
    while queue:
        current = queue.pop(0)
        try:
            tasks = os.listdir("/proc/%d/task" % current)
        except FileNotFoundError:
            continue
        found.append(current)
        for task in tasks:
            try:
                with open("/proc/%d/task/%s/children" % (current, task), encoding="ascii") as handle:
                    queue += [int(child) for child in handle.read().split()]
            except FileNotFoundError:
                pass
    return found


def pin(pids, cpus):
    """Every thread of every process in the trees of `pids` to `cpus` (a set of core numbers)."""
    for pid in pids:
        for process in tree(pid):
            try:
                tasks = os.listdir("/proc/%d/task" % process)
            except FileNotFoundError:
                continue
            for task in tasks:
                try:
                    os.sched_setaffinity(int(task), cpus)
                except (ProcessLookupError, FileNotFoundError):
                    pass  # a thread that just ended


def cpu_seconds(pids):
    """utime + stime of the process trees of `pids` (threads included, ended children excluded)."""
    total = 0
    for pid in pids:
        for process in tree(pid):
            try:
                with open("/proc/%d/stat" % process, encoding="ascii") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def memory_mib(pid):
    """{'VmHWM': peak RSS, 'VmRSS': current RSS} of one process, in MiB."""
    values = {}
    with open("/proc/%d/status" % pid, encoding="ascii") as handle:
        for line in handle:
            key, _sep, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(rest.split()[0]) / 1024.0
    return values


def evict_page_cache(directories):
    """Drop the kernel's cached pages of every file under `directories` (posix_fadvise DONTNEED on clean pages, as
    after a reboot or once other data has pushed them out): the next read goes to the disk. Only these files, not the
    whole machine's cache (drop_caches would slow every other process here). -> number of files evicted."""
    evicted = 0
    for directory in directories:
        for root, _dirs, names in os.walk(directory):
            for name in names:
                path = os.path.join(root, name)
                try:
                    fd = os.open(path, os.O_RDONLY)
                except OSError:
                    continue          # a file removed meanwhile (an index journal)
                try:
                    os.fdatasync(fd)  # dirty pages cannot be dropped: write them first
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                    evicted += 1
                finally:
                    os.close(fd)
    return evicted
