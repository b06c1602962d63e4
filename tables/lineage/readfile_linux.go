package lineage

import (
	"os"
	"syscall"
)

// readFile reads up to limit bytes of name into *buf (reused across calls and grown
// as needed) and returns them. procfs files report size 0, so it reads until a
// short read. It uses raw system calls: os.Open's fstat and finaliser bookkeeping cost as much
// as the read itself, and a full listing does this three times per process.
func readFile(name string, buf *[]byte, limit int) ([]byte, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	defer syscall.Close(fd)
	return readFD(fd, name, buf, limit)
}

// readFD reads up to limit bytes of an open file into *buf, stopping at a short read.
func readFD(fd int, name string, buf *[]byte, limit int) ([]byte, error) {
	b := (*buf)[:0]
	for len(b) < limit {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := syscall.Read(fd, b[len(b):min(cap(b), limit)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			*buf = b
			return nil, &os.PathError{Op: "read", Path: name, Err: err}
		}
		if n <= 0 {
			break
		}
		room := min(cap(b), limit) - len(b)
		b = b[:len(b)+n]
		if n < room {
			// A short read is the end: procfs stat/status (seq_file) and cmdline
			// fill the buffer as far as they can, so this saves the EOF read.
			break
		}
	}
	*buf = b
	return b, nil
}

// readLink returns the target of the symbolic link name without os.Readlink's
// allocations for short targets.
func readLink(name string) (string, error) {
	var small [256]byte
	buf := small[:]
	for {
		n, err := syscall.Readlink(name, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return "", &os.PathError{Op: "readlink", Path: name, Err: err}
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		if len(buf) >= 1<<16 {
			return string(buf[:n]), nil
		}
		buf = make([]byte, 2*len(buf))
	}
}

// ownerUID returns the owner of a /proc/<pid> directory: the process's effective uid
// (root for non-dumpable processes). One system call.
func ownerUID(name string) (uint32, bool) {
	var st syscall.Stat_t
	for {
		err := syscall.Stat(name, &st)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, false
		}
		return st.Uid, true
	}
}

// openDir opens a directory for readFileAt (the /proc root: resolving "<pid>/stat"
// against it walks two path components instead of the whole path).
func openDir(name string) (int, error) {
	return syscall.Open(name, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
}

// readFileAt is readFile relative to an open directory; dirfd < 0 uses dir + "/" + name.
func readFileAt(dirfd int, dir, name string, buf *[]byte, limit int) ([]byte, error) {
	if dirfd < 0 {
		return readFile(dir+"/"+name, buf, limit)
	}
	var fd int
	var err error
	for {
		fd, err = syscall.Openat(dirfd, name, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir + "/" + name, Err: err}
	}
	defer syscall.Close(fd)
	return readFD(fd, dir+"/"+name, buf, limit)
}

// keepOpenSupported says whether List may keep /proc/<pid>/stat open between
// listings (see ProcFS.keepOpen).
const keepOpenSupported = true

// atFDCWD is AT_FDCWD (not exported by package syscall on Linux).
const atFDCWD = -100

// openAt opens dir-relative name read-only (dirfd < 0: dir + "/" + name).
func openAt(dirfd int, dir, name string) (int, error) {
	path := name
	if dirfd < 0 {
		dirfd, path = atFDCWD, dir+"/"+name
	}
	for {
		fd, err := syscall.Openat(dirfd, path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: dir + "/" + name, Err: err}
		}
		return fd, nil
	}
}

// preadFD reads up to limit bytes of an open file from offset 0. procfs builds a
// stat file anew on every read from offset 0, so one system call reads a process's
// current state through a descriptor kept from an earlier listing; once the process
// has exited (its pid may since have been reused) the read fails with ESRCH.
func preadFD(fd int, name string, buf *[]byte, limit int) ([]byte, error) {
	b := (*buf)[:0]
	if cap(b) < limit {
		b = make([]byte, 0, limit)
	}
	for {
		n, err := syscall.Pread(fd, b[:limit], 0)
		if err == syscall.EINTR {
			continue
		}
		*buf = b
		if err != nil {
			return nil, &os.PathError{Op: "pread", Path: name, Err: err}
		}
		return b[:n], nil
	}
}

// closeFD closes a descriptor kept by List.
func closeFD(fd int) { _ = syscall.Close(fd) }

// openFileLimit is the soft RLIMIT_NOFILE (the Go runtime raises it to the hard
// limit at start-up), or 0 when unknown.
func openFileLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		return 0
	}
	return int(rl.Cur)
}
