//go:build unix

package experiments

import (
	"errors"
	"syscall"
)

// processAlive reports whether a process of this id runs (or exists in a
// state this user cannot signal).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
